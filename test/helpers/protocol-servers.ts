/**
 * Loopback servers for every protocol healthcheck probes beyond HTTP: DNS (UDP and TCP on one port), SSH, gRPC health,
 * WebSocket echo, SMTP with STARTTLS, UDP echo, an OAuth2 token endpoint, an RDAP service and HTTPS that requires a
 * client certificate, and a CONNECT proxy. Each listens on port 0 and closes with its connections.
 */
import {generateKeyPairSync} from 'node:crypto'
import {createSocket} from 'node:dgram'
import {readFileSync} from 'node:fs'
import {createServer as createHttpServer} from 'node:http'
import type {IncomingMessage} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {connect as connectTcp, createServer as createNetServer} from 'node:net'
import type {AddressInfo, Server, Socket} from 'node:net'
import {TLSSocket} from 'node:tls'

import {Server as GrpcServer, ServerCredentials} from '@grpc/grpc-js'
import type {ServerUnaryCall, sendUnaryData} from '@grpc/grpc-js'
import * as dnsPacket from 'dns-packet'
import type {Answer, Packet} from 'dns-packet'
import ssh2 from 'ssh2'
import {WebSocketServer} from 'ws'

import {HEALTH_SERVICE} from '../../src/health/probes/grpc.js'

export interface Running {
  port: number
  close(): Promise<void>
}

const tlsFile = (name: string) => readFileSync(new URL(`../../fixtures/tls/${name}.pem`, import.meta.url))
export const SERVER_TLS = {key: tlsFile('self-signed-key'), cert: tlsFile('self-signed')}
export const CLIENT_CERTIFICATE_FILES = {
  cert: new URL('../../fixtures/tls/client.pem', import.meta.url).pathname,
  key: new URL('../../fixtures/tls/client-key.pem', import.meta.url).pathname,
}

async function listening(server: Server, host = '127.0.0.1'): Promise<Running> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Names the DNS server knows: A records; every other name is NXDOMAIN. */
export type Zone = Record<string, string[]>

/** A DNS server on UDP and TCP, one port: A answers from `zone`, NXDOMAIN for anything else. */
export async function dnsServer(zone: Zone): Promise<Running & {queries: {udp: number; tcp: number}}> {
  const queries = {udp: 0, tcp: 0}
  const answer = (query: Packet): Packet => {
    const question = query.questions![0]!
    const addresses = zone[question.name.toLowerCase()]
    const answers: Answer[] = question.type === 'A' ? (addresses ?? []).map((data) => ({type: 'A', name: question.name, ttl: 60, data})) : []
    return {
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (addresses ? 0 : 3), // RCODE 3: NXDOMAIN
      questions: query.questions,
      answers,
    }
  }
  const tcp = createNetServer((socket) => {
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return
      queries.tcp++
      socket.end(dnsPacket.streamEncode(answer(dnsPacket.streamDecode(buffered))))
    })
  })
  const running = await listening(tcp)
  const udp = createSocket('udp4')
  udp.on('message', (message, from) => {
    queries.udp++
    udp.send(dnsPacket.encode(answer(dnsPacket.decode(message))), from.port, from.address)
  })
  await new Promise<void>((resolve) => udp.bind(running.port, '127.0.0.1', resolve))
  return {
    port: running.port,
    queries,
    close: async () => {
      udp.close()
      await running.close()
    },
  }
}

/**
 * An ed25519 key pair in OpenSSH text. ssh2's own generator drops the leading zero bytes of the public key, so about
 * one pair in 256 is one its parser refuses (mscdex/ssh2#1513): draw again until both halves parse.
 */
export function sshKeyPair(encryption?: {passphrase: string; cipher: string; rounds: number}): ssh2.utils.KeyPairReturn {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', encryption)
    const passphrase = encryption?.passphrase
    if (!(ssh2.utils.parseKey(pair.public) instanceof Error) && !(ssh2.utils.parseKey(pair.private, passphrase) instanceof Error)) return pair
  }
}

/**
 * An SSH server (ssh2) with a host key made now: one user, with a password and/or a public key (OpenSSH text);
 * `exit N` exits N, anything else echoes. `methods` lists the authentication methods clients tried, in order.
 */
export async function sshServer(user: {username: string; password?: string; publicKey?: string}): Promise<Running & {methods: string[]}> {
  const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048, privateKeyEncoding: {type: 'pkcs1', format: 'pem'}, publicKeyEncoding: {type: 'pkcs1', format: 'pem'}})
  const allowed = user.publicKey === undefined ? undefined : ssh2.utils.parseKey(user.publicKey)
  if (allowed instanceof Error) throw allowed
  const methods: string[] = []
  const server = new ssh2.Server({hostKeys: [privateKey]}, (client) => {
    client.on('error', () => {})
    client.on('authentication', (context) => {
      methods.push(context.method)
      if (context.username !== user.username) return context.reject()
      if (context.method === 'password' && user.password !== undefined && context.password === user.password) return context.accept()
      if (context.method === 'publickey' && allowed && context.key.algo === allowed.type && context.key.data.equals(allowed.getPublicSSH())) {
        // Without a signature the client only asks whether the key would do; with one, it proves it holds the key.
        if (!context.signature) return context.accept()
        if (allowed.verify(context.blob!, context.signature, context.hashAlgo) === true) return context.accept()
      }
      context.reject()
    })
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec()
        const exit = /^exit (\d+)$/.exec(info.command)
        if (!exit) stream.write(`${info.command}\n`)
        stream.exit(exit ? Number(exit[1]) : 0)
        stream.end()
      })
    })
  })
  return {...(await listening(server as unknown as Server)), methods}
}

/**
 * A gRPC server answering grpc.health.v1.Health/Check: `status` for the whole server (service ""), and per service.
 * Over TLS (grpcs://) with `tls`, a key pair such as a test CA issues.
 */
export async function grpcHealthServer(statuses: Record<string, string>, tls?: {key: Buffer; cert: Buffer}): Promise<Running> {
  const server = new GrpcServer()
  server.addService(HEALTH_SERVICE, {
    Check: (call: ServerUnaryCall<{service: string}, {status: string}>, callback: sendUnaryData<{status: string}>) => {
      const status = statuses[call.request.service]
      if (status === undefined) callback({code: 5, details: `unknown service ${call.request.service}`})
      else callback(null, {status})
    },
  })
  const credentials = tls ? ServerCredentials.createSsl(null, [{private_key: tls.key, cert_chain: tls.cert}]) : ServerCredentials.createInsecure()
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))))
  return {port, close: () => new Promise((resolve) => server.tryShutdown(() => resolve()))}
}

/** A WebSocket server that echoes every message, upper-cased (so that an echo is told from what was sent). */
export async function webSocketEcho(): Promise<Running> {
  const http = createHttpServer()
  const wss = new WebSocketServer({server: http})
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data.toString().toUpperCase())))
  const running = await listening(http)
  return {port: running.port, close: () => new Promise((resolve) => wss.close(() => void running.close().then(resolve)))}
}

/** A little SMTP server: greeting, EHLO offering STARTTLS (unless `offer` is false), STARTTLS to TLS, QUIT. */
export async function smtpServer(options: {offer?: boolean} = {}): Promise<Running> {
  const offer = options.offer ?? true
  const server = createNetServer((socket) => {
    socket.write('220 mail.test ESMTP fanout-test\r\n')
    let buffered = ''
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const command = buffered.slice(0, end).toUpperCase()
        buffered = buffered.slice(end + 2)
        if (command.startsWith('EHLO')) socket.write(`250-mail.test\r\n250-SIZE 1000000\r\n${offer ? '250-STARTTLS\r\n' : ''}250 HELP\r\n`)
        else if (command === 'STARTTLS') {
          socket.off('data', onData)
          socket.write('220 ready to start TLS\r\n')
          const secure = new TLSSocket(socket, {isServer: true, ...SERVER_TLS})
          secure.on('error', () => {})
          secure.on('data', () => secure.end('221 bye\r\n'))
          return
        } else if (command === 'QUIT') socket.end('221 bye\r\n')
        else socket.write('502 not implemented\r\n')
      }
    }
    socket.on('data', onData)
    socket.on('error', () => {})
  })
  return listening(server)
}

/** A UDP server that answers each datagram with "pong: " and the datagram. */
export async function udpEcho(): Promise<Running> {
  const socket = createSocket('udp4')
  socket.on('message', (message, from) => socket.send(`pong: ${message.toString()}`, from.port, from.address))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {port: socket.address().port, close: () => new Promise((resolve) => socket.close(() => resolve()))}
}

/**
 * HTTP on one port for everything around a check: `/token` an OAuth2 token endpoint for `client`/`secret` (counts
 * the tokens it gives), `/whoami` the Authorization header it got, `/rdap/domain/:name` an RDAP answer expiring
 * `expires`, `/host` the Host header, request line and Proxy-Authorization it got (what a proxy is asked).
 */
export async function helperServer(expires: Date): Promise<Running & {tokens: () => number}> {
  let tokens = 0
  const server = createHttpServer((request, response) => {
    const json = (status: number, body: unknown) => response.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body))
    if (request.url === '/token' && request.method === 'POST') {
      let body = ''
      request.on('data', (chunk) => (body += chunk))
      request.on('end', () => {
        const form = new URLSearchParams(body)
        const good = request.headers.authorization === `Basic ${Buffer.from('client:secret').toString('base64')}`
        if (!good || form.get('grant_type') !== 'client_credentials') return json(401, {error: 'invalid_client'})
        tokens++
        json(200, {access_token: `token-${tokens}-${form.get('scope')}`, token_type: 'bearer', expires_in: 3600})
      })
      return
    }
    if (request.url === '/whoami') return json(200, {authorization: request.headers.authorization ?? null})
    if (request.url?.startsWith('/rdap/domain/')) {
      return json(200, {objectClassName: 'domain', ldhName: request.url.slice('/rdap/domain/'.length), events: [{eventAction: 'expiration', eventDate: expires.toISOString()}]})
    }
    return json(200, {host: request.headers.host, requestLine: `${request.method} ${request.url}`, proxyAuthorization: request.headers['proxy-authorization'] ?? null})
  })
  const running = await listening(server)
  return {...running, tokens: () => tokens}
}

/** HTTPS that accepts only clients presenting fixtures/tls/client.pem (mutual TLS). */
export async function mutualTlsServer(): Promise<Running> {
  const server = createHttpsServer({...SERVER_TLS, ca: [readFileSync(CLIENT_CERTIFICATE_FILES.cert)], requestCert: true, rejectUnauthorized: true}, (request, response) => {
    const peer = (request.socket as TLSSocket).getPeerCertificate()
    response.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({client: peer.subject?.CN ?? null}))
  })
  return listening(server)
}

/**
 * An HTTP proxy that opens tunnels (CONNECT) and nothing else. Host names are resolved from `hosts` (to show the
 * client does not resolve them itself); `credentials` (user:pass) makes it ask for Proxy-Authorization (407).
 * `tunnels` lists the authorities it was asked for.
 */
export async function connectProxy(hosts: Record<string, string>, credentials?: string): Promise<Running & {tunnels: string[]}> {
  const tunnels: string[] = []
  const server = createHttpServer((_request, response) => response.writeHead(405).end())
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    client.on('error', () => {})
    tunnels.push(request.url ?? '')
    if (credentials && request.headers['proxy-authorization'] !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n')
      return
    }
    const {hostname, port} = new URL(`http://${request.url}`)
    const upstream = connectTcp(Number(port), hosts[hostname] ?? hostname, () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client).pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  const running = await listening(server)
  return {...running, tunnels}
}
