import {mkdtemp} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {IncomingMessage, Server, ServerResponse} from 'node:http'
import {spawn} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {afterEach, describe, expect, it} from 'vitest'

import {fanout, until} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {closedPort} from '../helpers/servers.js'

interface Report {
  ok: boolean
  interrupted?: true
  summary: {requests: number; completed: number; errors: number; inFlight: number; rps: number; durationMs: number; late: number; missed: number
    latency: Record<string, number>; corrected?: Record<string, number>}
  status: Record<string, number>
  errors: Record<string, {count: number; first: string}>
  thresholds: {expression: string; pass: boolean}[]
  tally: {sent: number; completed: number}
}

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer({keepAliveTimeout: 60_000}, handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as {port: number}
  return `http://127.0.0.1:${address.port}`
}

async function loadtest(args: string[]) {
  const run = await fanout(['loadtest', '--json', '-q', ...args])
  return {...run, report: (run.stdout ? parseJsonDocument(run.stdout) : null) as Report}
}

const reconciles = (report: Report) => expect(report.summary.requests).toBe(report.summary.completed + report.summary.errors + report.summary.inFlight)

describe('fanout loadtest', () => {
  it('counts reconcile exactly with --requests, on one thread and on two', async () => {
    let served = 0
    const url = await serve((_request, response) => {
      served++
      response.end('ok')
    })
    const one = await loadtest([url, '-n', '3000', '-w', '8'])
    expect(one.code).toBe(0)
    expect(one.report.summary).toMatchObject({requests: 3000, completed: 3000, errors: 0, inFlight: 0})
    expect(one.report.status).toEqual({200: 3000})
    expect(served).toBe(3000)
    const two = await loadtest([url, '-n', '2001', '-w', '8', '--threads', '2'])
    expect(two.report.summary).toMatchObject({requests: 2001, completed: 2001})
    expect(served).toBe(5001)
  })

  it('measures a 20 ms server at 20 ms, in microseconds', async () => {
    const url = await serve((_request, response) => setTimeout(() => response.end('slow'), 20))
    const {report} = await loadtest([url, '-d', '2s', '-w', '10'])
    expect(report.summary.latency.p50).toBeGreaterThanOrEqual(17)
    // The server's own 20 ms timer fires late when the test files beside it keep both cores busy (23.2 ms seen):
    // the bound still tells a true 20 ms from a doubled or a lost one.
    expect(report.summary.latency.p50).toBeLessThanOrEqual(28)
    expect(report.summary.latency.p50 % 1).not.toBe(0) // sub-millisecond precision, not whole milliseconds
    reconciles(report)
  })

  it('--rate: a one-second stall shows in the corrected p99 and not in the uncorrected one', async () => {
    let first = 0
    let stallUntil = 0
    const url = await serve((_request, response) => {
      const now = performance.now()
      first ||= now
      if (!stallUntil && now - first > 1500) stallUntil = now + 1000
      setTimeout(() => response.end('ok'), Math.max(0, stallUntil - now))
    })
    const {report} = await loadtest([url, '--rate', '400', '-d', '4s', '-w', '4'])
    expect(report.summary.corrected!.p99).toBeGreaterThan(500)
    expect(report.summary.latency.p99).toBeLessThan(100)
    expect(report.summary.late).toBeGreaterThan(100) // the workers fell behind during the stall, and say so
    reconciles(report)
  })

  it('--rate 2000 achieves 2000 req/s within 2%', async () => {
    const url = await serve((_request, response) => response.end('ok'))
    const {report} = await loadtest([url, '--rate', '2000', '-d', '3s', '-w', '20'])
    expect(Math.abs(report.summary.rps - 2000) / 2000).toBeLessThan(0.02)
    reconciles(report)
  })

  it('reads chunked, content-length, empty and HEAD responses, pipelined too', async () => {
    const big = 'x'.repeat(100_000)
    const url = await serve((request, response) => {
      if (request.url === '/chunked') {
        response.write('first chunk ')
        setImmediate(() => response.end('and the last'))
      } else if (request.url === '/empty') response.writeHead(204).end()
      else response.writeHead(200, {'content-length': big.length}).end(request.method === 'HEAD' ? undefined : big)
    })
    for (const args of [[`${url}/chunked`], [`${url}/length`, '--pipelining', '4'], [`${url}/empty`], [`${url}/length`, '-m', 'HEAD'], [`${url}/chunked`, '--pipelining', '8']]) {
      const {code, report} = await loadtest([...args, '-n', '400', '-w', '4'])
      expect(code, args.join(' ')).toBe(0)
      expect(report.summary, args.join(' ')).toMatchObject({requests: 400, completed: 400, errors: 0})
    }
  })

  it('sorts failures by kind: refused, reset, timeout, parse', async () => {
    const refused = await loadtest([`http://127.0.0.1:${await closedPort()}/`, '-n', '50', '-w', '2'])
    expect(refused.report.errors.refused!.count).toBe(50)
    expect(refused.report.errors.refused!.first).toMatch(/ECONNREFUSED/)
    const reset = await loadtest([await serve((request) => request.socket.destroy()), '-n', '50', '-w', '2'])
    expect(reset.report.errors.reset!.count).toBe(50)
    const timeout = await loadtest([await serve(() => {}), '-n', '4', '-w', '2', '--timeout', '200ms'])
    expect(timeout.report.errors.timeout).toMatchObject({count: 4, first: 'no response within 200 ms'})
    const garbage = await serve((request) => request.socket.end('SMTP ready\r\n\r\n'))
    const parse = await loadtest([garbage, '-n', '10', '-w', '1'])
    expect(parse.report.errors.parse!.count).toBe(10)
    for (const run of [refused, reset, timeout, parse]) {
      expect(run.code).toBe(1) // not one request answered: no success, whatever the thresholds
      expect(run.stderr).toMatch(/no request completed: \d+ of \d+ failed with (refused|reset|timeout|parse) errors/)
      reconciles(run.report)
    }
  })

  it('thresholds pass (exit 0) and fail (exit 1); a malformed or unknown one is exit 2 before any request', async () => {
    let served = 0
    const url = await serve((request, response) => {
      served++
      response.writeHead(request.url === '/missing' ? 404 : 200).end()
    })
    const pass = await loadtest([url, '-n', '200', '--threshold', 'p99<2s', '--threshold', 'errors<1%', '--threshold', 'rps>10'])
    expect(pass.code).toBe(0)
    expect(pass.report.thresholds.every((result) => result.pass)).toBe(true)
    const fail = await loadtest([`${url}/missing`, '-n', '200', '--threshold', 'non-2xx<1%', '--threshold', 'p99<10s'])
    expect(fail.code).toBe(1)
    expect(fail.report.thresholds.map((result) => result.pass)).toEqual([false, true])
    served = 0
    for (const bad of ['p99<fast', 'latency<200ms', 'rps>10%', 'p99']) {
      const run = await fanout(['loadtest', url, '-n', '10', '--threshold', bad])
      expect(run.code, bad).toBe(2)
      expect(run.stderr.trim().split('\n'), bad).toHaveLength(1)
      expect(run.stderr).toContain(`--threshold "${bad}"`)
    }
    expect(served).toBe(0)
  })

  it('merges two result files into the totals of both', async () => {
    const url = await serve((_request, response) => setTimeout(() => response.end('ok'), 2))
    const dir = await mkdtemp(join(tmpdir(), 'fanout-merge-'))
    const a = await loadtest([url, '-n', '1000', '-w', '4', '-o', join(dir, 'a.json')])
    const b = await loadtest([url, '-n', '1500', '-w', '6', '-o', join(dir, 'b.json')])
    const merged = await fanout(['loadtest', 'merge', join(dir, 'a.json'), join(dir, 'b.json'), '--json'])
    expect(merged.code).toBe(0)
    const report = parseJsonDocument(merged.stdout) as Report
    expect((report as {command?: string; merged?: unknown}).command).toBe('loadtest') // the report of one run, marked merged
    expect((report as {merged?: unknown}).merged).toMatchObject({shards: 2, of: 1})
    expect(report.summary).toMatchObject({requests: 2500, completed: 2500, errors: 0, inFlight: 0})
    expect(report.status).toEqual({200: 2500})
    const [low, high] = [a, b].map((run) => run.report.summary.latency.max).sort((x, y) => x - y)
    expect(report.summary.latency.max).toBe(high)
    expect(report.summary.latency.p50).toBeGreaterThanOrEqual(Math.min(a.report.summary.latency.p50, b.report.summary.latency.p50))
    expect(low).toBeLessThanOrEqual(high!)
    const foreign = await fanout(['loadtest', 'merge', join(dir, 'a.json'), fileURLToPath(new URL('../../package.json', import.meta.url))])
    expect(foreign.code).toBe(2)
    expect(foreign.stderr).toMatch(/package\.json is not a fanout report with a run id and shard identity/)
  })

  it('Ctrl-C stops sending, prints the partial report and exits 130', async () => {
    // Ctrl-C a second after the first request arrives, not after a fixed time: on a loaded machine the process may
    // take longer than that to start, and a SIGINT before its handler is installed kills it outright.
    let started!: () => void
    const firstRequest = new Promise<void>((resolve) => (started = resolve))
    const url = await serve((_request, response) => {
      started()
      setTimeout(() => response.end('ok'), 5)
    })
    const run = await fanout(['loadtest', url, '-d', '30s', '-w', '4', '--json'], {interruptWhen: firstRequest.then(() => sleep(1000))})
    expect(run.code).toBe(130)
    const report = parseJsonDocument(run.stdout) as Report
    expect(report.interrupted).toBe(true)
    expect(report.summary.completed).toBeGreaterThan(100)
    expect(report.summary.durationMs).toBeLessThan(5000)
    reconciles(report)
  })

  it('serves growing counters on /metrics while it runs; the final scrape matches the JSON report', async () => {
    const url = await serve((request, response) => setTimeout(() => response.writeHead(request.url === '/gone' ? 410 : 200).end(), 1))
    const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
    const child = spawn(process.execPath, [bin, 'loadtest', `${url}/`, '--targets', join(await targetsFile(url)), '-d', '2500ms', '-w', '4', '--json', '--metrics-addr', '127.0.0.1:0', '--metrics-linger', '10s'])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const closed = new Promise((resolve) => child.on('close', resolve))
    const address = await until(() => /serving (http:\/\/\S+\/metrics)/.exec(stderr)?.[1])
    const ok = async () => sample(await (await fetch(address)).text(), 'fanout_http_requests_total{status="200"}') ?? 0
    await sleep(700)
    const early = await ok()
    await sleep(700)
    expect(await ok()).toBeGreaterThan(early)
    const report = (await until(() => (stdout.endsWith('\n') ? parseJsonDocument(stdout) : undefined), 15_000)) as Report
    const final = await (await fetch(address)).text()
    expect(sample(final, 'fanout_http_requests_total{status="200"}')).toBe(report.status['200'])
    expect(sample(final, 'fanout_http_requests_total{status="410"}')).toBe(report.status['410'])
    expect(sample(final, 'fanout_http_request_duration_seconds_count')).toBe(report.summary.completed)
    child.kill('SIGINT')
    await closed
  })
})

async function targetsFile(url: string): Promise<string> {
  const {writeFile} = await import('node:fs/promises')
  const file = join(await mkdtemp(join(tmpdir(), 'fanout-targets-')), 'targets.txt')
  await writeFile(file, `# two of three requests to /, one to /gone\n${url}/\nGET ${url}/gone\n`)
  return file
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
