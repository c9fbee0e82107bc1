import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {Client} from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {UsageError} from '../../src/cli/errors.js'
import {TimeoutError} from '../../src/engine/index.js'
import {probeFor, SCHEMES} from '../../src/health/probes/index.js'
import type {ProbeOptions, ProbeResult} from '../../src/health/types.js'
import {closedPort, closingServer, httpServer, passwordAskingPostgres, resettingServer, silentServer, tlsServer} from '../helpers/servers.js'
import type {TestServer} from '../helpers/servers.js'

const PG_URL = process.env.FANOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.FANOUT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

function options(overrides: Partial<ProbeOptions> = {}): ProbeOptions {
  return {method: 'GET', headers: {}, insecure: false, maxRedirects: 5, maxBodyBytes: 1024 * 1024, signal: AbortSignal.timeout(5000), ...overrides}
}

/** Probes `url` as the engine would, and checks the result's invariants on the way. */
async function probe(url: string, overrides: Partial<ProbeOptions> = {}): Promise<ProbeResult> {
  const target = new URL(url)
  const result = await probeFor(target)(target, options(overrides))
  expect(result.responseTimeMs).toBeGreaterThan(0)
  for (const ms of Object.values(result.phases)) expect(ms).toBeGreaterThanOrEqual(0)
  if (result.error) expect(result.error.message).not.toContain('\n')
  return result
}

/** Polls until `condition` holds, for at most a second. */
async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 1000; !(await condition()) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(await condition()).toBe(true)
}

const YEAR_MS = 365 * 24 * 3600 * 1000
const MB = 1024 * 1024

/** V8's `gc()`, which only a flag exposes (vitest's workers start without it). */
function garbageCollector(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

describe('probeFor', () => {
  it('knows each scheme, and names the URL and the supported schemes for another', () => {
    expect(SCHEMES).toEqual(['http', 'https', 'tcp', 'tls', 'postgres', 'postgresql', 'redis', 'udp', 'dns', 'icmp', 'ssh', 'grpc', 'grpcs', 'ws', 'wss', 'starttls'])
    const mysql = () => probeFor(new URL('mysql://root:secret@db:3306/app'))
    expect(mysql).toThrow(UsageError)
    expect(mysql).toThrow('unsupported scheme "mysql:" in mysql://root:***@db:3306/app; use one of http:// https:// tcp:// tls:// postgres:// postgresql:// redis:// udp:// dns:// icmp:// ssh:// grpc:// grpcs:// ws:// wss:// starttls://')
  })

  it('asks for the port tcp:// and tls:// cannot do without', () => {
    expect(() => probeFor(new URL('tcp://db.internal'))).toThrow('tcp://db.internal has no port; write it as tcp://db.internal:PORT')
  })
})

describe('http and https probes', () => {
  let server: TestServer
  let base: string
  beforeAll(async () => {
    server = await httpServer()
    base = server.url
  })
  afterAll(() => server.close())

  it('200: status, body, ip and every phase of a fresh connection', async () => {
    const result = await probe(`${base}/ok`)
    expect(result).toMatchObject({connected: true, status: 200, body: 'OK', ip: '127.0.0.1'})
    expect(result.error).toBeUndefined()
    expect(Object.keys(result.phases).sort()).toEqual(['connect', 'transfer', 'ttfb'])
    const {connect, ttfb, transfer} = result.phases
    expect(connect! + ttfb! + transfer!).toBeLessThanOrEqual(result.responseTimeMs)
  })

  it('500 is a response, not a probe failure: judging it is the conditions’ job', async () => {
    const result = await probe(`${base}/status/500`)
    expect(result).toMatchObject({connected: true, status: 500, body: 'status 500'})
    expect(result.error).toBeUndefined()
  })

  it('ttfb covers the server’s 50 ms before its headers', async () => {
    const result = await probe(`${base}/delay/50`)
    expect(result.phases.ttfb).toBeGreaterThanOrEqual(49)
    expect(result.phases.transfer).toBeLessThan(50)
  })

  it('sends method, headers and body; JSON bodies come back as text', async () => {
    const result = await probe(`${base}/echo`, {method: 'POST', headers: {'content-type': 'application/json', 'x-probe': 'yes'}, body: '{"ping":1}'})
    const echo = JSON.parse(result.body!)
    expect(echo).toMatchObject({method: 'POST', body: '{"ping":1}', headers: {'content-type': 'application/json', 'x-probe': 'yes'}})
    expect(JSON.parse((await probe(`${base}/json`)).body!)).toEqual({status: 'UP', items: [1, 2, 3]})
  })

  it('follows redirects; a 303 after a POST turns into a GET without the body', async () => {
    const followed = await probe(`${base}/redirect-to?url=/ok`)
    expect(followed).toMatchObject({status: 200, body: 'OK'})
    const seeOther = await probe(`${base}/redirect-to?status=303&url=/echo`, {method: 'POST', headers: {'content-type': 'text/plain'}, body: 'form'})
    expect(JSON.parse(seeOther.body!)).toMatchObject({method: 'GET', body: ''})
    expect(JSON.parse(seeOther.body!).headers['content-type']).toBeUndefined()
  })

  it('a redirect loop fails with protocol once the redirect limit is reached', async () => {
    const result = await probe(`${base}/loop`, {maxRedirects: 5})
    expect(result.error).toEqual({code: 'protocol', message: `redirect limit (5) exceeded at ${base}/loop`})
    expect(result.connected).toBe(true)
    expect(result.status).toBeUndefined()
  })

  it('stops reading a 50 MB body at maxBodyBytes and says the body was over it', async () => {
    // Collecting garbage before each sample measures what the probe holds, not what V8 has yet to free.
    const collectGarbage = garbageCollector()
    const usage = () => {
      collectGarbage()
      const {rss, heapUsed, arrayBuffers} = process.memoryUsage()
      return {rss, live: heapUsed + arrayBuffers}
    }
    const before = usage()
    const peak = {...before}
    const sampler = setInterval(() => {
      const now = usage()
      peak.rss = Math.max(peak.rss, now.rss)
      peak.live = Math.max(peak.live, now.live)
    }, 5)
    const result = await probe(`${base}/bytes/${50 * MB}`, {maxBodyBytes: 1000})
    clearInterval(sampler)
    expect(result).toMatchObject({status: 200, bodyOverLimit: 1000})
    expect(result.body!.length).toBeLessThanOrEqual(1000)
    expect(result.phases.transfer).toBeGreaterThan(0)
    expect(peak.live - before.live).toBeLessThan(10 * MB)
    expect(peak.rss - before.rss).toBeLessThan(50 * MB)
  })

  it('a body of exactly maxBodyBytes is whole; one byte more is over', async () => {
    const length = JSON.stringify({status: 'UP', items: [1, 2, 3]}).length
    const whole = await probe(`${base}/json`, {maxBodyBytes: length})
    expect(whole.bodyOverLimit).toBeUndefined()
    expect(JSON.parse(whole.body!)).toEqual({status: 'UP', items: [1, 2, 3]})
    expect((await probe(`${base}/json`, {maxBodyBytes: length - 1})).bodyOverLimit).toBe(length - 1)
  })

  it('a server slower than the timeout: code timeout, promptly, with how far the probe got', async () => {
    const started = performance.now()
    const result = await probe(`${base}/delay/5000`, {signal: AbortSignal.timeout(200)})
    expect(performance.now() - started).toBeLessThan(400)
    expect(result.error).toEqual({code: 'timeout', message: 'no answer within the timeout after connecting to 127.0.0.1'})
    expect(result.connected).toBe(true)
    await eventually(() => server.connections() === 0)
  })

  it('a body that never ends times out while reading it, with the status seen', async () => {
    const result = await probe(`${base}/trickle`, {signal: AbortSignal.timeout(200)})
    expect(result.error).toEqual({code: 'timeout', message: 'no answer within the timeout while reading the body (status 200)'})
    expect(result.status).toBe(200)
  })

  it('the engine’s TimeoutError says how long the timeout was', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(new TimeoutError(150)), 150)
    const result = await probe(`${base}/delay/5000`, {signal: controller.signal})
    expect(result.error?.message).toBe('no answer within 150ms after connecting to 127.0.0.1')
  })

  it('cancellation (Ctrl-C, fail-fast) rejects with the signal’s reason, promptly', async () => {
    const controller = new AbortController()
    const interrupted = new Error('interrupted by SIGINT')
    setTimeout(() => controller.abort(interrupted), 100)
    const started = performance.now()
    await expect(probe(`${base}/delay/5000`, {signal: controller.signal})).rejects.toBe(interrupted)
    expect(performance.now() - started).toBeLessThan(300)
    await expect(probe(`${base}/ok`, {signal: AbortSignal.abort(interrupted)})).rejects.toBe(interrupted)
    await eventually(() => server.connections() === 0)
  })

  it('closes its connection in every path: no socket is left open on the server', async () => {
    await Promise.all([
      probe(`${base}/ok`),
      probe(`${base}/loop`),
      probe(`${base}/bytes/1000000`, {maxBodyBytes: 10}),
      probe(`${base}/delay/5000`, {signal: AbortSignal.timeout(100)}),
      probe(`${base}/trickle`, {signal: AbortSignal.timeout(100)}),
    ])
    await eventually(() => server.connections() === 0)
  })
})

describe('connection failures over HTTP', () => {
  it('a closed port: refused, naming the address', async () => {
    const port = await closedPort()
    const result = await probe(`http://127.0.0.1:${port}/`)
    expect(result).toMatchObject({connected: false, error: {code: 'refused', message: `connection refused by 127.0.0.1:${port}`}})
    expect(result.phases.connect).toBeUndefined()
  })

  it('localhost with nothing on either family: refused by both addresses', async () => {
    const port = await closedPort()
    const result = await probe(`http://localhost:${port}/`)
    expect(result.error).toEqual({code: 'refused', message: `connection refused by 127.0.0.1:${port}, [::1]:${port}`})
  })

  it('a host name that does not resolve: dns', async () => {
    const result = await probe('http://no-such-host.invalid/')
    expect(result.error).toEqual({code: 'dns', message: 'no-such-host.invalid does not resolve (ENOTFOUND)'})
  })

  it('a server that accepts and never answers: timeout', async () => {
    const silent = await silentServer()
    const result = await probe(silent.url.replace('tcp:', 'http:'), {signal: AbortSignal.timeout(150)})
    expect(result).toMatchObject({connected: true, error: {code: 'timeout'}})
    await eventually(() => silent.connections() === 0)
    await silent.close()
  })

  it('a server that resets the connection: reset', async () => {
    const resetting = await resettingServer()
    const result = await probe(resetting.url.replace('tcp:', 'http:'))
    expect(result.error).toEqual({code: 'reset', message: 'the server closed or reset the connection (ECONNRESET)'})
    await resetting.close()
  })

  it('a server that closes without answering: reset', async () => {
    const closing = await closingServer()
    const result = await probe(closing.url.replace('tcp:', 'http:'))
    expect(result.error).toEqual({code: 'reset', message: 'the server closed the connection before answering'})
    await closing.close()
  })
})

describe('localhost, whichever family the server listens on', () => {
  for (const host of ['127.0.0.1', '::1'] as const) {
    it(`reaches a server on ${host} only`, async () => {
      const server = await httpServer({host})
      const port = new URL(server.url).port
      const result = await probe(`http://localhost:${port}/ok`)
      expect(result).toMatchObject({status: 200, ip: host})
      expect(result.phases.dns).toBeGreaterThanOrEqual(0)
      expect((await probe(`tcp://localhost:${port}`)).ip).toBe(host)
      expect((await probe(server.url.replace('http:', 'tcp:'))).ip).toBe(host)
      await server.close()
    })
  }
})

describe('certificates: https and tls://', () => {
  const servers: Record<string, TestServer> = {}
  beforeAll(async () => {
    servers.https = await httpServer({certificate: 'self-signed'})
    servers.httpsExpired = await httpServer({certificate: 'expired'})
    servers.tls = await tlsServer('self-signed')
    servers.tlsExpired = await tlsServer('expired')
  })
  afterAll(() => Promise.all(Object.values(servers).map((server) => server.close())))

  const cases = [
    {name: 'https', path: '/ok'},
    {name: 'tls', path: ''},
  ]
  for (const {name, path} of cases) {
    it(`${name}: a self-signed certificate fails verification; insecure connects and reads its expiry`, async () => {
      const url = `${servers[name]!.url}${path}`
      const verified = await probe(url)
      expect(verified).toMatchObject({connected: false, ip: '127.0.0.1', error: {code: 'tls', message: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)'}})
      const insecure = await probe(url, {insecure: true})
      expect(insecure.error).toBeUndefined()
      expect(insecure.connected).toBe(true)
      expect(insecure.certificateExpiresAt).toEqual(new Date('2125-01-01T00:00:00Z'))
      expect(insecure.certificateExpiresAt!.getTime() - Date.now()).toBeGreaterThan(90 * YEAR_MS)
      expect(insecure.phases.tls).toBeGreaterThan(0)
    })

    it(`${name}: an expired certificate fails, saying so; insecure connects and reports the past expiry`, async () => {
      const url = `${servers[`${name}Expired`]!.url}${path}`
      expect((await probe(url)).error).toEqual({code: 'tls', message: 'certificate has expired (CERT_HAS_EXPIRED)'})
      const insecure = await probe(url, {insecure: true})
      expect(insecure.error).toBeUndefined()
      expect(insecure.certificateExpiresAt).toEqual(new Date('2001-01-01T00:00:00Z'))
    })
  }

  it('https: status and body come through an insecure session, with the tls phase', async () => {
    const result = await probe(`${servers.https!.url}/json`, {insecure: true})
    expect(result).toMatchObject({status: 200, connected: true})
    expect(Object.keys(result.phases).sort()).toEqual(['connect', 'tls', 'transfer', 'ttfb'])
  })

  it('TLS spoken to a plain TCP server: a tls error naming what went wrong', async () => {
    const plain = await httpServer()
    const result = await probe(plain.url.replace('http:', 'https:'))
    expect(result.error).toEqual({code: 'tls', message: 'wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)'})
    await plain.close()
  })
})

describe('tcp probe', () => {
  it('open: connected, with the connect phase', async () => {
    const server = await silentServer()
    const result = await probe(server.url)
    expect(result).toMatchObject({connected: true, ip: '127.0.0.1'})
    expect(result.error).toBeUndefined()
    expect(Object.keys(result.phases)).toEqual(['connect'])
    await eventually(() => server.connections() === 0)
    await server.close()
  })

  it('closed: refused', async () => {
    const port = await closedPort()
    expect(await probe(`tcp://127.0.0.1:${port}`)).toMatchObject({connected: false, error: {code: 'refused', message: `connection refused by 127.0.0.1:${port}`}})
  })
})

describe('postgres probe (the machine’s PostgreSQL)', () => {
  const as = (user: string, database?: string) => {
    const url = new URL(PG_URL)
    url.username = user
    url.password = ''
    if (database) url.pathname = `/${database}`
    return url.href
  }

  it('logs in and runs SELECT 1', async () => {
    const result = await probe(PG_URL)
    expect(result.error).toBeUndefined()
    expect(result).toMatchObject({connected: true, ip: '127.0.0.1'})
    expect(result.phases.ttfb).toBeGreaterThan(0)
  })

  it('a role that does not exist: auth', async () => {
    const result = await probe(as('nobody_here'))
    expect(result.error).toEqual({code: 'auth', message: 'role "nobody_here" does not exist (SQLSTATE 28000)'})
    expect(result.connected).toBe(true)
  })

  it('a database that does not exist: auth, like any login the server refuses', async () => {
    const result = await probe(as(new URL(PG_URL).username, 'no_such_db'))
    expect(result.error).toEqual({code: 'auth', message: 'database "no_such_db" does not exist (SQLSTATE 3D000)'})
  })

  it('ends every session it opens, failed logins and timeouts included', async () => {
    await Promise.all(
      Array.from({length: 10}, (_, index) => [
        probe(PG_URL),
        probe(as('nobody_here')),
        // Timeouts of 0 to 9 ms stop probes at every stage of the login.
        probe(PG_URL, {signal: AbortSignal.timeout(index)}),
      ]).flat(),
    )
    const observer = new Client({connectionString: PG_URL})
    await observer.connect()
    const probeSessions = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'fanout healthcheck'"
    await eventually(async () => (await observer.query(probeSessions)).rows[0].n === 0)
    await observer.end()
  })

  it('nothing listening: refused', async () => {
    const port = await closedPort()
    expect((await probe(`postgres://postgres@127.0.0.1:${port}/postgres`)).error?.code).toBe('refused')
  })

  it('a server that asks for a password the URL does not give: auth', async () => {
    const server = await passwordAskingPostgres()
    const result = await probe(`${server.url}/app`)
    expect(result.error).toEqual({code: 'auth', message: `the server asks for a password and ${server.url}/app gives none`})
    await eventually(() => server.connections() === 0)
    await server.close()
  })

  it('a server that never answers the startup message: timeout, and the socket is closed', async () => {
    const silent = await silentServer()
    const result = await probe(silent.url.replace('tcp:', 'postgres:'), {signal: AbortSignal.timeout(150)})
    expect(result).toMatchObject({connected: true, error: {code: 'timeout'}})
    await eventually(() => silent.connections() === 0)
    await silent.close()
  })
})

describe('redis probe (the machine’s Redis)', () => {
  it('PING answers PONG', async () => {
    const result = await probe(REDIS_URL)
    expect(result.error).toBeUndefined()
    expect(result).toMatchObject({connected: true, ip: '127.0.0.1'})
    expect(result.phases.ttfb).toBeGreaterThan(0)
  })

  it('selects the database the URL names', async () => {
    expect((await probe(`${REDIS_URL}/1`)).error).toBeUndefined()
    expect((await probe(`${REDIS_URL}/99999`)).error).toMatchObject({code: 'protocol', message: expect.stringMatching(/^expected \+OK in reply to SELECT, got "-ERR/)})
  })

  it('a password the server does not expect: auth', async () => {
    const url = new URL(REDIS_URL)
    url.password = 'not-the-password'
    const result = await probe(url.href)
    expect(result.error).toMatchObject({code: 'auth', message: expect.stringMatching(/^Redis refused AUTH: /)})
    expect(result.error!.message).not.toContain('not-the-password')
    url.username = 'someone'
    expect((await probe(url.href)).error?.code).toBe('auth')
  })

  it('not a Redis server: protocol; one that closes: reset; one that never answers: timeout', async () => {
    const http = await httpServer()
    expect((await probe(http.url.replace('http:', 'redis:'))).error).toMatchObject({code: 'protocol', message: expect.stringContaining('HTTP/1.1 400 Bad Request')})
    const closing = await closingServer()
    expect((await probe(closing.url.replace('tcp:', 'redis:'))).error).toEqual({code: 'reset', message: 'the server closed the connection before replying'})
    const silent = await silentServer()
    expect((await probe(silent.url.replace('tcp:', 'redis:'), {signal: AbortSignal.timeout(100)})).error?.code).toBe('timeout')
    await eventually(() => silent.connections() === 0)
    await Promise.all([http.close(), closing.close(), silent.close()])
  })
})
