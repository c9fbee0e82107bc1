import {createServer} from 'node:https'
import type {Server} from 'node:https'
import type {TLSSocket} from 'node:tls'

import * as hdr from 'hdr-histogram-js'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {hasProgram} from '../helpers/system-program.js'
import {makeTestCa} from '../helpers/test-ca.js'
import type {TestCa} from '../helpers/test-ca.js'
import {expectReconciled, loadJson} from './load-run.js'

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** An HTTPS server on 127.0.0.1 answering 200 "ok"; what it saw of each connection is kept. */
async function serveTls(options: Parameters<typeof createServer>[0], close = false) {
  const seen = {connections: 0, reused: 0, servernames: new Set<string>(), clientCerts: 0}
  const server = createServer({keepAliveTimeout: 60_000, ...options}, (request, response) => {
    const socket = request.socket as TLSSocket
    if (socket.getPeerCertificate().subject) seen.clientCerts++
    response.writeHead(200, close ? {connection: 'close'} : {}).end('ok')
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    seen.connections++
    if (socket.isSessionReused()) seen.reused++
    if (socket.servername) seen.servernames.add(socket.servername)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {url: `https://127.0.0.1:${(server.address() as {port: number}).port}`, seen}
}

describe.runIf(hasProgram('openssl', 'openssl'))('fanout loadtest over TLS', () => {
  let ca: TestCa
  let server: ReturnType<TestCa['issue']>
  beforeAll(() => {
    ca = makeTestCa()
    server = ca.issue('server', ['localhost', '127.0.0.1'])
  })

  it('verifies certificates by default: a CA nobody trusts is a tls error (exit 1, one line); --ca, NODE_EXTRA_CA_CERTS or --insecure pass', async () => {
    const {url, seen} = await serveTls({key: server.key, cert: server.cert})
    const refused = await loadJson([`${url}/`, '-n', '20', '-w', '2'])
    expect(refused.code).toBe(1)
    expect(refused.report.errors.tls!.count).toBe(20)
    expect(refused.report.errors.tls!.first).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i)
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fanout loadtest: no request completed: 20 of 20 failed with tls errors/)])
    expectReconciled(refused.report)
    for (const [args, env] of [[['--ca', ca.caFile], {}], [[], {NODE_EXTRA_CA_CERTS: ca.caFile}], [['--insecure'], {}]] as const) {
      const run = await loadJson([`${url}/`, '-n', '300', '-w', '3', ...args], {env})
      expect(run.code, args.join(' ')).toBe(0)
      expect(run.report.status, args.join(' ')).toEqual({200: 300})
    }
    expect(seen.servernames.size).toBe(0) // an IP address is no server name: no SNI (RFC 6066)
  })

  it('checks the name: a certificate for another host fails; --servername sends that name as SNI and verifies against it', async () => {
    const other = ca.issue('other', ['svc.test'])
    const {url, seen} = await serveTls({key: other.key, cert: other.cert})
    const wrong = await loadJson([`${url}/`, '-n', '5', '-w', '1', '--ca', ca.caFile])
    expect(wrong.report.errors.tls!.first).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|does not match/)
    const named = await loadJson([`${url}/`, '-n', '50', '-w', '1', '--ca', ca.caFile, '--servername', 'svc.test'])
    expect(named.report.status).toEqual({200: 50})
    expect([...seen.servernames]).toEqual(['svc.test'])
  })

  it('mutual TLS: without a client certificate the server refuses (tls); with --cert/--key every request passes', async () => {
    const client = ca.issue('client', [], true)
    const {url, seen} = await serveTls({key: server.key, cert: server.cert, ca: ca.ca, requestCert: true, rejectUnauthorized: true})
    const without = await loadJson([`${url}/`, '-n', '10', '-w', '1', '--ca', ca.caFile, '--timeout', '2s'])
    expect(without.code).toBe(1)
    expect(without.report.summary.completed).toBe(0)
    expect(Object.keys(without.report.errors)).toEqual(['tls'])
    const withCert = await loadJson([`${url}/`, '-n', '200', '-w', '2', '--ca', ca.caFile, '--cert', client.certFile, '--key', client.keyFile])
    expect(withCert.code).toBe(0)
    expect(withCert.report.status).toEqual({200: 200})
    expect(seen.clientCerts).toBe(200)
  })

  it('resumes the TLS session on reconnect, and records handshakes apart from request latency', async () => {
    const {url, seen} = await serveTls({key: server.key, cert: server.cert}, true) // Connection: close: a new connection per request
    const run = await loadJson([`${url}/`, '-n', '100', '-w', '2', '--ca', ca.caFile])
    expect(run.report.status).toEqual({200: 100})
    expect(run.report.errors).toEqual({})
    expect(run.report.tally.connections).toBeGreaterThanOrEqual(100)
    expect(seen.reused).toBeGreaterThan(90) // every connection after each worker's first resumes
    expect(run.report.tally.resumed).toBe(seen.reused)
    const handshakes = hdr.decodeFromCompressedBase64(run.report.tally.histograms.handshake, 32)
    expect(handshakes.totalCount).toBe(run.report.tally.connections)
    expect(run.report.tally.bytesReceived).toBeGreaterThan(100 * 'HTTP/1.1 200 OK\r\n'.length)
    expectReconciled(run.report)
  })

  it('a missing --ca file, --cert without --key or TLS flags on http:// are exit 2 before any request', async () => {
    const {url, seen} = await serveTls({key: server.key, cert: server.cert})
    for (const args of [['--ca', '/nonexistent/ca.pem'], ['--cert', server.certFile], ['--ca', server.keyFile.replace('.pem', '.csr')]]) {
      const run = await fanout(['loadtest', `${url}/`, '-n', '5', ...args])
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
    const plain = await fanout(['loadtest', 'http://127.0.0.1:9/', '-n', '5', '--insecure'])
    expect(plain.code).toBe(2)
    expect(plain.stderr).toMatch(/--insecure applies to https:\/\/ URLs only/)
    expect(seen.connections).toBe(0)
  })
})
