import {readFileSync} from 'node:fs'
import {createServer as createHttpServer} from 'node:http'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {createServer as createNetServer} from 'node:net'
import type {AddressInfo, Server, Socket} from 'node:net'
import {createServer as createTlsServer} from 'node:tls'

/** A server the tests started on a loopback port; close it with connections still open. */
export interface TestServer {
  /** `scheme://host:port`, an IPv6 host in brackets. */
  url: string
  /** Connections open on the server side now: 0 once every client has closed its own. */
  connections(): number
  close(): Promise<void>
}

export type LoopbackHost = '127.0.0.1' | '::1'

/**
 * Certificates in fixtures/tls: self-signed for localhost, 127.0.0.1 and ::1; `expired` ended in 2001. Or a key pair
 * made by the test (a test CA's, test/helpers/test-ca.ts).
 */
export type Certificate = 'self-signed' | 'expired' | {key: Buffer; cert: Buffer}

function keyPair(certificate: Certificate): {key: Buffer; cert: Buffer} {
  if (typeof certificate === 'object') return certificate
  const file = (name: string) => readFileSync(new URL(`../../fixtures/tls/${name}.pem`, import.meta.url))
  return {key: file(`${certificate}-key`), cert: file(certificate)}
}

async function serve(server: Server, scheme: string, host: LoopbackHost): Promise<TestServer> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const {port} = server.address() as AddressInfo
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    connections: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

const CHUNK = Buffer.alloc(64 * 1024, 'x')

/**
 * The routes every HTTP test server answers, httpbin-style:
 * `/ok` 200 "OK"; `/status/:code`; `/delay/:ms` (waits before the headers); `/trickle` (headers, then a body that
 * never ends); `/bytes/:n` (n bytes of "x", streamed); `/json` a health document; `/echo` the request as JSON;
 * `/redirect-to?url=…&status=302`; `/loop` redirects to itself.
 */
function routes(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://test')
  const [, route, arg] = url.pathname.split('/')
  const send = (status: number, body: string, type = 'text/plain'): void => void response.writeHead(status, {'content-type': type}).end(body)
  switch (route) {
    case 'ok':
      return send(200, 'OK')
    case 'status':
      return send(Number(arg), `status ${arg}`)
    case 'delay':
      setTimeout(() => send(200, 'OK'), Number(arg))
      return
    case 'trickle':
      response.writeHead(200, {'content-type': 'text/plain'}).write('still')
      return
    case 'bytes':
      return streamBytes(response, Number(arg))
    case 'json':
      return send(200, JSON.stringify({status: 'UP', items: [1, 2, 3]}), 'application/json')
    case 'echo': {
      let body = ''
      request.setEncoding('utf8')
      request.on('data', (chunk: string) => (body += chunk))
      request.on('end', () => send(200, JSON.stringify({method: request.method, headers: request.headers, body}), 'application/json'))
      return
    }
    case 'redirect-to':
      response.writeHead(Number(url.searchParams.get('status') ?? 302), {location: url.searchParams.get('url')!}).end()
      return
    case 'loop':
      response.writeHead(302, {location: '/loop'}).end()
      return
    default:
      return send(404, 'no such route')
  }
}

/** Writes `n` bytes from one reused chunk, minding backpressure: the server holds no more than the client does. */
function streamBytes(response: ServerResponse, n: number): void {
  response.writeHead(200, {'content-type': 'text/plain', 'content-length': n})
  let left = n
  const write = () => {
    while (left > 0) {
      const chunk = CHUNK.subarray(0, Math.min(left, CHUNK.length))
      left -= chunk.length
      if (!response.write(chunk)) return void response.once('drain', write)
    }
    response.end()
  }
  write()
}

/** An HTTP server answering `routes`; over TLS with `certificate`. */
export function httpServer(options: {host?: LoopbackHost; certificate?: Certificate} = {}): Promise<TestServer> {
  const {host = '127.0.0.1', certificate} = options
  if (certificate) return serve(createHttpsServer(keyPair(certificate), routes), 'https', host)
  return serve(createHttpServer(routes), 'http', host)
}

/** Accepts connections and never says a word (it reads, and so notices when the client hangs up). */
export function silentServer(host: LoopbackHost = '127.0.0.1'): Promise<TestServer> {
  return serve(
    createNetServer((socket) => socket.resume()),
    'tcp',
    host,
  )
}

/** Resets (RST) each connection as soon as the client sends something. */
export function resettingServer(host: LoopbackHost = '127.0.0.1'): Promise<TestServer> {
  return serve(
    createNetServer((socket) => socket.once('data', () => socket.resetAndDestroy())),
    'tcp',
    host,
  )
}

/** Closes (FIN) each connection as soon as the client sends something, without answering. */
export function closingServer(host: LoopbackHost = '127.0.0.1'): Promise<TestServer> {
  return serve(
    createNetServer((socket) => socket.once('data', () => socket.end())),
    'tcp',
    host,
  )
}

/** Completes TLS handshakes with `certificate`, then closes. */
export function tlsServer(certificate: Certificate, host: LoopbackHost = '127.0.0.1'): Promise<TestServer> {
  return serve(
    createTlsServer(keyPair(certificate), (socket) => socket.end()),
    'tls',
    host,
  )
}

/** A PostgreSQL look-alike that answers the startup message by asking for a cleartext password, then waits. */
export function passwordAskingPostgres(host: LoopbackHost = '127.0.0.1'): Promise<TestServer> {
  // AuthenticationCleartextPassword: 'R', length 8, request 3.
  const askForPassword = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])
  return serve(
    createNetServer((socket) => socket.once('data', () => socket.write(askForPassword)).resume()),
    'postgres',
    host,
  )
}

/** A loopback port nothing listens on: bound, noted, released. */
export async function closedPort(host: LoopbackHost = '127.0.0.1'): Promise<number> {
  const server = await serve(createNetServer(), 'tcp', host)
  await server.close()
  return Number(new URL(server.url).port)
}
