import {mkdtemp} from 'node:fs/promises'
import {createServer} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {RequestListener} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {hasProgram} from '../helpers/system-program.js'
import {makeTestCa} from '../helpers/test-ca.js'
import {parseJsonDocument} from '../helpers/json-schema.js'

// The figures autocannon and k6 users compare (issue 13, item 5).
interface Report {
  summary: {
    requests: number; completed: number; durationMs: number; startedAt: string; endedAt: string
    bytes: {sent: number; received: number; sentPerSecond: number; receivedPerSecond: number}
    latency: Record<string, number>
    tls?: {handshakes: number; resumed: number; latency: Record<string, number>}
  }
  status: Record<string, number>
  samples: {second: number; ms: number; completed: number; rps: number; errors: number; p50: number; p99: number; status: Record<string, number>; errorKinds: Record<string, number>}[]
}

const servers: {close(callback: (error?: Error) => void): void; closeAllConnections(): void}[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

async function serve(handler: RequestListener): Promise<string> {
  const server = createServer({keepAliveTimeout: 60_000}, handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as {port: number}).port}/`
}

async function loadtest(args: string[]): Promise<Report> {
  const run = await fanout(['loadtest', '--json', '-q', ...args])
  expect(run.code, run.stderr).toBe(0)
  return parseJsonDocument(run.stdout) as Report
}

const BODY = 'x'.repeat(1000)
const KEYS = ['min', 'p2.5', 'p25', 'p50', 'p75', 'p90', 'p95', 'p97.5', 'p99', 'p99.9', 'p99.99', 'max']

describe('loadtest figures', () => {
  it('bytes sent and received, and per second; min to max in order; start and end of the measured phase', async () => {
    const url = await serve((_request, response) => response.end(BODY))
    const before = Date.now()
    const {summary} = await loadtest([url, '-n', '500', '-w', '4'])
    const {bytes} = summary
    expect(bytes.received).toBeGreaterThan(500 * BODY.length)
    expect(bytes.received).toBeLessThan(500 * (BODY.length + 300)) // the body and a head, no more
    expect(bytes.sent).toBeGreaterThan(500 * 30)
    expect(bytes.sent % 500).toBe(0) // every request is the same prebuilt bytes
    // durationMs is rounded to the microsecond: per second agrees to a part in a thousand.
    expect(Math.abs(bytes.receivedPerSecond / ((bytes.received / summary.durationMs) * 1000) - 1)).toBeLessThan(1e-3)
    expect(Math.abs(bytes.sentPerSecond / ((bytes.sent / summary.durationMs) * 1000) - 1)).toBeLessThan(1e-3)
    const values = KEYS.map((key) => summary.latency[key]!)
    expect(values.every((value) => value > 0)).toBe(true)
    expect([...values].sort((a, b) => a - b)).toEqual(values)
    const [started, ended] = [Date.parse(summary.startedAt), Date.parse(summary.endedAt)]
    expect(started).toBeGreaterThanOrEqual(before)
    expect(ended).toBeLessThanOrEqual(Date.now())
    expect(Math.abs(ended - started - summary.durationMs)).toBeLessThanOrEqual(2)
  })

  it('bytes of the warm-up are not counted', async () => {
    const url = await serve((_request, response) => setTimeout(() => response.end(BODY), 2))
    const plain = await loadtest([url, '-d', '1s', '-w', '4'])
    const warmed = await loadtest([url, '-d', '1s', '--warmup', '1s', '-w', '4'])
    const perResponse = (report: Report) => report.summary.bytes.received / report.summary.completed
    expect(Math.abs(perResponse(warmed) / perResponse(plain) - 1)).toBeLessThan(0.05)
  })

  it('one sample a second, whose counts add up to the run, with status codes over time; on two threads too', async () => {
    let first = 0
    const url = await serve((_request, response) => {
      first ||= Date.now()
      setTimeout(() => response.writeHead(Date.now() - first > 1700 ? 503 : 200).end(), 1)
    })
    for (const threads of ['1', '2']) {
      first = 0
      const report = await loadtest([url, '-d', '3s', '-w', '4', '--threads', threads])
      const {samples, summary} = report
      expect(samples.length, threads).toBeGreaterThanOrEqual(3)
      expect(samples.length, threads).toBeLessThanOrEqual(4)
      expect(samples.reduce((sum, sample) => sum + sample.completed, 0)).toBe(summary.completed)
      expect(samples.every((sample) => sample.ms <= 1300)).toBe(true)
      expect(samples.map((sample) => sample.second)).toEqual([...samples.map((sample) => sample.second)].sort((a, b) => a - b))
      expect(samples[samples.length - 1]!.second * 1000).toBeCloseTo(summary.durationMs, -1)
      expect(samples[0]!.status).toEqual({200: samples[0]!.completed}) // the first second: all 200
      expect(samples[samples.length - 1]!.status['503']).toBeGreaterThan(0) // the last: the server had turned 503
      for (const sample of samples.filter((s) => s.completed > 0)) {
        expect(sample.rps).toBeCloseTo((sample.completed / sample.ms) * 1000, -1)
        expect(sample.p99).toBeGreaterThanOrEqual(sample.p50)
      }
      const statusTotal = (code: string) => samples.reduce((sum, sample) => sum + (sample.status[code] ?? 0), 0)
      expect(statusTotal('503')).toBe(report.status['503'])
    }
  })

  it('responses that arrive after the stop (the drain) land in the last sample', async () => {
    const url = await serve((_request, response) => setTimeout(() => response.end('ok'), 400))
    const {samples, summary} = await loadtest([url, '-d', '2s', '-w', '10'])
    expect(summary.completed).toBeGreaterThanOrEqual(40)
    expect(samples.reduce((sum, sample) => sum + sample.completed, 0)).toBe(summary.completed)
  })

  it('the table shows the figures and a latency histogram whose counts add up to the responses', async () => {
    const url = await serve((_request, response) => setTimeout(() => response.end(BODY), 1))
    const run = await fanout(['loadtest', '-q', url, '-n', '400', '-w', '4', '--threshold', 'p97.5<10s', '--threshold', 'min<1us'])
    expect(run.code).toBe(1) // the new figures gate too: min < 1 µs cannot pass
    expect(run.stdout).toMatch(/p97\.5<10s\s+\S+\s+✓ pass/)
    expect(run.stdout).toMatch(/min<1us\s+\S+\s+✗ FAIL/)
    for (const label of ['p2.5', 'p97.5', 'p99.99', 'min', 'bytes sent', 'bytes received', 'started', 'ended']) expect(run.stdout).toContain(label)
    const histogram = run.stdout.split('latency histogram')[1]!
    const counts = [...histogram.matchAll(/\[\s*(\d+)\]/g)].map((match) => Number(match[1]))
    expect(counts).toHaveLength(10)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(400)
  })

  it('merge adds bytes, spans the earliest start to the latest end and merges the samples second by second', async () => {
    const url = await serve((_request, response) => setTimeout(() => response.end(BODY), 1))
    const dir = await mkdtemp(join(tmpdir(), 'fanout-figures-'))
    const a = await loadtest([url, '-d', '2s', '-w', '2', '-o', join(dir, 'a.json')])
    const b = await loadtest([url, '-d', '1s', '-w', '2', '-o', join(dir, 'b.json')])
    const run = await fanout(['loadtest', 'merge', join(dir, 'a.json'), join(dir, 'b.json'), '--json'])
    const merged = parseJsonDocument(run.stdout) as Report
    expect(merged.summary.bytes.received).toBe(a.summary.bytes.received + b.summary.bytes.received)
    expect(merged.summary.startedAt).toBe(a.summary.startedAt)
    expect(merged.summary.endedAt).toBe(b.summary.endedAt)
    expect(merged.samples.length).toBe(Math.max(a.samples.length, b.samples.length))
    expect(merged.samples[0]!.completed).toBe(a.samples[0]!.completed + b.samples[0]!.completed)
    expect(merged.samples.reduce((sum, sample) => sum + sample.completed, 0)).toBe(merged.summary.completed)
  })

  it.runIf(hasProgram('openssl', 'openssl'))('over TLS: handshake percentiles apart from request latency, in the JSON and the table', async () => {
    const ca = makeTestCa()
    const {key, cert} = ca.issue('server', ['127.0.0.1'])
    // Connection: close after every response: each request needs a new connection, hence a handshake.
    const server = createHttpsServer({key, cert}, (_request, response) => response.writeHead(200, {connection: 'close'}).end('ok'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `https://127.0.0.1:${(server.address() as {port: number}).port}/`
    const {summary} = await loadtest([url, '-n', '60', '-w', '2', '--ca', ca.caFile])
    expect(summary.completed).toBe(60)
    expect(summary.tls!.handshakes).toBeGreaterThanOrEqual(60)
    expect(summary.tls!.resumed).toBeGreaterThan(0) // sessions resumed on reconnect
    const values = KEYS.map((k) => summary.tls!.latency[k]!)
    expect(values.every((value) => value > 0)).toBe(true)
    expect([...values].sort((a, b) => a - b)).toEqual(values)
    const table = await fanout(['loadtest', '-q', url, '-n', '20', '-w', '2', '--ca', ca.caFile])
    expect(table.stdout).toMatch(/TLS handshake/)
    expect(table.stdout).toMatch(/TLS handshakes\s+\d+ \(\d+ resumed\)/)
    const plain = await loadtest([await serve((_request, response) => response.end('ok')), '-n', '20'])
    expect(plain.summary.tls).toBeUndefined()
  })
})
