import {readFileSync} from 'node:fs'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createServer as createHttpsServer} from 'node:https'
import http2 from 'node:http2'
import type {Http2Server, Http2SecureServer, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session} from 'node:http2'
import {connect, createServer as createNetServer} from 'node:net'
import type {Server, Socket} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {Frame, END_HEADERS, END_STREAM, FRAME_HEADER, frame, preface} from '../../src/load/http2/frames.js'
import {HpackDecoder, encodeRequestHeaders} from '../../src/load/http2/hpack.js'
import {expectReconciled, loadJson} from './load-run.js'

const tlsFiles = {key: readFileSync(new URL('../../fixtures/tls/self-signed-key.pem', import.meta.url)), cert: readFileSync(new URL('../../fixtures/tls/self-signed.pem', import.meta.url))}

const servers: (Http2Server | Http2SecureServer | Server)[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    const sessions = (server as unknown as {sessions?: Set<ServerHttp2Session>}).sessions
    for (const session of sessions ?? []) session.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** A node:http2 server (TLS with ALPN h2, or h2c) that counts sessions and the most streams open at once on one. */
async function serveH2(secure: boolean, handler: (request: Http2ServerRequest, response: Http2ServerResponse, session: ServerHttp2Session) => void) {
  const seen = {sessions: 0, streams: 0, maxConcurrent: 0}
  const onRequest = (request: Http2ServerRequest, response: Http2ServerResponse) => handler(request, response, request.stream.session as ServerHttp2Session)
  const server = secure ? http2.createSecureServer({...tlsFiles, allowHTTP1: false}, onRequest) : http2.createServer(onRequest)
  const sessions = new Set<ServerHttp2Session>()
  Object.assign(server, {sessions})
  server.on('session', (session: ServerHttp2Session) => {
    seen.sessions++
    sessions.add(session)
    let open = 0
    session.on('stream', (stream) => {
      seen.streams++
      seen.maxConcurrent = Math.max(seen.maxConcurrent, ++open)
      stream.on('close', () => open--)
    })
    session.on('close', () => sessions.delete(session))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {url: `${secure ? 'https' : 'http'}://127.0.0.1:${(server.address() as {port: number}).port}/`, seen}
}

describe('fanout loadtest over HTTP/2', () => {
  for (const secure of [true, false]) {
    it(`${secure ? 'TLS with ALPN h2' : 'h2c'}: --workers connections with up to --streams requests in flight on each`, async () => {
      const {url, seen} = await serveH2(secure, (_request, response) => setTimeout(() => response.end('hello'), 2))
      const run = await loadJson([url, '--http2', '-n', '3000', '-w', '3', '--streams', '8', ...(secure ? ['--insecure'] : [])])
      expect(run.code).toBe(0)
      expect(run.report.summary).toMatchObject({requests: 3000, completed: 3000, errors: 0})
      expect(run.report.status).toEqual({200: 3000})
      expect(seen).toMatchObject({sessions: 3, streams: 3000})
      expect(seen.maxConcurrent).toBeGreaterThan(1)
      expect(seen.maxConcurrent).toBeLessThanOrEqual(8)
      expect(run.report.tally.connections).toBe(3)
    })
  }

  it('--http auto takes h2 when the server picks it by ALPN, and HTTP/1.1 from a server that only speaks that', async () => {
    const h2 = await serveH2(true, (_request, response) => response.end('h2'))
    const picked = await loadJson([h2.url, '--http', 'auto', '-k', '-n', '100', '-w', '2'])
    expect(picked.report.status).toEqual({200: 100})
    expect(h2.seen.streams).toBe(100)
    const only1 = createHttpsServer(tlsFiles, (_request, response) => response.end('1.1'))
    servers.push(only1)
    await new Promise<void>((resolve) => only1.listen(0, '127.0.0.1', resolve))
    const fallback = await loadJson([`https://127.0.0.1:${(only1.address() as {port: number}).port}/`, '--http', 'auto', '-k', '-n', '100', '-w', '2'])
    expect(fallback.report.status).toEqual({200: 100})
  })

  it('decodes what nghttp2 encodes: statuses outside the static table, the dynamic table and its evictions, Huffman', async () => {
    let n = 0
    const statuses = [200, 201, 404, 503, 299, 418]
    const {url} = await serveH2(false, (_request, response) => {
      const i = n++
      // Repeated values enter nghttp2's dynamic table; a 3000-byte one evicts most of it every few responses.
      response.writeHead(statuses[i % statuses.length]!, {'x-repeat': 'the same value each time', 'x-varies': `value ${i % 7}`, ...(i % 5 === 0 ? {'x-big': 'y'.repeat(3000)} : {})})
      response.end()
    })
    const run = await loadJson([url, '--http2', '-n', '600', '-w', '1', '--streams', '1'])
    expect(run.report.errors).toEqual({})
    expect(run.report.status).toEqual(Object.fromEntries(statuses.map((status) => [String(status), 100])))
  })

  it('the decoder gives back every field node:http2 sent, byte for byte', async () => {
    const sent = {'x-plain': 'abc', 'x-huffman-friendly': 'www.example.com/some/path?q=1', 'x-latin1': 'caf\u00e9 \u00fcber', 'set-cookie': ['a=1', 'b=2'], 'x-empty': ''}
    const {url} = await serveH2(false, (_request, response) => response.writeHead(203, sent).end())
    const blocks = await rawResponseHeaders(new URL(url), 3)
    const decoder = new HpackDecoder()
    for (const block of blocks) {
      const fields: [string, string][] = []
      expect(decoder.decode(block, (name, value) => fields.push([name, value]))).toBe(203)
      expect(fields.filter(([name]) => name.startsWith('x-') || name === 'set-cookie')).toEqual([
        ['x-plain', 'abc'], ['x-huffman-friendly', sent['x-huffman-friendly']], ['x-latin1', sent['x-latin1']], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-empty', ''],
      ])
    }
  })

  it('GOAWAY mid-run: streams the server did not take go again on a new connection; nothing is lost', async () => {
    let perSession = new WeakMap<ServerHttp2Session, number>()
    const {url, seen} = await serveH2(false, (_request, response, session) => {
      const count = (perSession.get(session) ?? 0) + 1
      perSession.set(session, count)
      response.end('ok')
      if (count === 150) session.close() // GOAWAY (NO_ERROR): the streams it has finish, no new ones
    })
    const run = await loadJson([url, '--http2', '-n', '2000', '-w', '2', '--streams', '10'])
    perSession = new WeakMap()
    expect(run.report.summary).toMatchObject({requests: 2000, completed: 2000, errors: 0, inFlight: 0})
    expect(seen.sessions).toBeGreaterThanOrEqual(2000 / 160)
    expectReconciled(run.report)
  })

  it('a stalled stream times out (RST_STREAM CANCEL) without killing its connection; RST_STREAM from the server is a reset', async () => {
    let n = 0
    const {url, seen} = await serveH2(false, (_request, response) => {
      const i = n++
      if (i % 50 === 7) return // never answered
      if (i % 50 === 9) return response.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
      response.end('ok')
    })
    const run = await loadJson([url, '--http2', '-n', '500', '-w', '2', '--streams', '5', '--timeout', '1500ms'])
    expect(run.report.errors.timeout).toMatchObject({count: 10, first: 'no response within 1500 ms'})
    expect(run.report.errors.reset).toMatchObject({count: 10, first: 'RST_STREAM INTERNAL_ERROR'})
    expect(run.report.summary).toMatchObject({requests: 500, completed: 480})
    expect(seen.sessions).toBe(2) // the connections lived through both
  })

  it('flow control both ways: 1 MB responses past the default window, 200 kB request bodies past the server\'s', async () => {
    const big = Buffer.alloc(1024 * 1024, 'z')
    const lengths: number[] = []
    const {url} = await serveH2(false, (request, response) => {
      let length = 0
      request.on('data', (chunk: Buffer) => (length += chunk.length))
      request.on('end', () => {
        lengths.push(length)
        response.end(request.method === 'POST' ? 'ok' : big)
      })
    })
    const down = await loadJson([url, '--http2', '-n', '40', '-w', '2', '--streams', '4'])
    expect(down.report.status).toEqual({200: 40})
    expect(down.report.tally.bytesReceived).toBeGreaterThan(40 * big.length)
    const body = join(await mkdtemp(join(tmpdir(), 'fanout-h2-')), 'body')
    await writeFile(body, 'p'.repeat(200_000))
    const up = await loadJson([url, '--http2', '-n', '40', '-w', '2', '--streams', '4', '-m', 'POST', '--body-file', body])
    expect(up.report.status).toEqual({200: 40})
    expect(lengths.slice(40)).toEqual(Array.from({length: 40}, () => 200_000))
  })

  it('a server that takes the connection and never sends its SETTINGS is a connect error, and the run ends', async () => {
    const sockets: Socket[] = []
    const silent = createNetServer((socket) => sockets.push(socket.on('error', () => {})))
    servers.push(silent)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const run = await loadJson([`http://127.0.0.1:${(silent.address() as {port: number}).port}/`, '--http2', '-n', '3', '-w', '1', '--timeout', '400ms'])
    for (const socket of sockets) socket.destroy()
    expect(run.code).toBe(1)
    expect(run.report.errors.connect).toMatchObject({count: 3, first: 'no HTTP/2 SETTINGS from the server within 400 ms'})
  })

  it('an HTTP/1.1 server given --http2 (h2c) is one clear parse error', async () => {
    const {createServer} = await import('node:http')
    const server = createServer((_request, response) => response.end('1.1'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const run = await loadJson([`http://127.0.0.1:${(server.address() as {port: number}).port}/`, '--http2', '-n', '5', '-w', '1'])
    expect(run.code).toBe(1)
    expect(run.report.errors.parse!.first).toMatch(/^not an HTTP\/2 server: it answered "HTTP\/1.1 400/)
  })
})

/** Sends `count` GETs over a raw h2c connection and gives back each response's header block as it came. */
function rawResponseHeaders(url: URL, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const blocks: Buffer[] = []
    let buffered = Buffer.alloc(0)
    socket.on('error', reject)
    socket.on('connect', () => {
      const block = encodeRequestHeaders([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', url.host]])
      const requests = Array.from({length: count}, (_, i) => frame(Frame.headers, END_HEADERS | END_STREAM, 1 + 2 * i, block))
      socket.write(Buffer.concat([preface(), ...requests]))
    })
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= FRAME_HEADER) {
        const length = buffered.readUIntBE(0, 3)
        if (buffered.length < FRAME_HEADER + length) break
        if (buffered[3] === Frame.headers) blocks.push(Buffer.from(buffered.subarray(FRAME_HEADER, FRAME_HEADER + length)))
        if (buffered[3] === Frame.settings && !(buffered[4]! & 1)) socket.write(frame(Frame.settings, 1, 0))
        buffered = buffered.subarray(FRAME_HEADER + length)
      }
      if (blocks.length === count) {
        socket.destroy()
        resolve(blocks)
      }
    })
  })
}
