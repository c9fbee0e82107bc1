import {mkdtemp, readFile, stat, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {launchChromium, pageProblems} from '../helpers/chromium.js'
import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {hasProgram} from '../helpers/system-program.js'

// `--report report.html` and `--compare baseline.json` (issue 13, item 6), looked at in a real headless Chromium.

interface Comparison {
  regressed: boolean
  verdict: string
  latency: string
  rows: {figure: string; baseline: number; current: number; change: number | null; regression: boolean}[]
}

let server: Server
let url: string
let delayMs = 1
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-report-'))
  let served = 0
  server = createServer((_request, response) => {
    served++
    // One response in 20 is a 503: status codes over time have two series.
    setTimeout(() => response.writeHead(served % 20 === 0 ? 503 : 200).end('ok'), delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as {port: number}).port}/`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('loadtest --compare', () => {
  it('prints the difference per percentile and req/s with a verdict, and exits 1 on a regression beyond --tolerance', async () => {
    delayMs = 1
    const base = join(dir, 'base.json')
    expect((await fanout(['loadtest', '-q', url, '-d', '2s', '-w', '4', '-o', base])).code).toBe(0)
    delayMs = 15
    const slower = await fanout(['loadtest', '-q', url, '-d', '2s', '-w', '4', '--compare', base, '--json', '-o', join(dir, 'slower.json')])
    expect(slower.code).toBe(1)
    const report = parseJsonDocument<{ok: boolean; comparison: Comparison}>(slower.stdout)
    expect(report.ok).toBe(false)
    expect(report.comparison.regressed).toBe(true)
    expect(report.comparison.rows.map((row) => row.figure)).toEqual(['p50', 'p75', 'p90', 'p95', 'p99', 'p99.9', 'rps'])
    const p50 = report.comparison.rows.find((row) => row.figure === 'p50')!
    expect(p50.regression).toBe(true)
    expect(p50.change).toBeGreaterThan(1) // from ~1 ms to ~15 ms
    expect(report.comparison.rows.find((row) => row.figure === 'rps')!.regression).toBe(true)
    expect(report.comparison.verdict).toMatch(/^REGRESSION against .*base\.json: p50 \+\d+/)

    // The same comparison in the table, the verdict its last line; a tolerance wide enough passes.
    const table = await fanout(['loadtest', 'merge', join(dir, 'slower.json'), '--compare', base])
    expect(table.code).toBe(1)
    expect(table.stdout.trimEnd().split('\n').at(-1)).toMatch(/^REGRESSION against/)
    expect(table.stdout).toMatch(/p99\.9\s+\S+\s+\S+\s+[+-]\d+\.\d%/)
    const tolerant = await fanout(['loadtest', 'merge', join(dir, 'slower.json'), '--compare', base, '--tolerance', '100000%'])
    expect(tolerant.code).toBe(0)
    expect(tolerant.stdout.trimEnd().split('\n').at(-1)).toMatch(/^no regression against .*: every figure within 100000%/)
    // A baseline written by an older fanout (no p75/p95, no samples, no bytes) compares from its histograms.
    const old = JSON.parse(await readFile(base, 'utf8'))
    for (const key of ['min', 'p2.5', 'p25', 'p75', 'p95', 'p97.5']) delete old.summary.latency[key]
    for (const key of ['seconds', 'bytesSent', 'bytesReceived', 'connections', 'resumed', 'startedAt', 'endedAt']) delete old.tally[key]
    delete old.tally.histograms.handshake
    await writeFile(join(dir, 'old.json'), JSON.stringify(old))
    const older = await fanout(['loadtest', 'merge', join(dir, 'slower.json'), '--compare', join(dir, 'old.json'), '--json'])
    const rows = parseJsonDocument<{comparison: Comparison}>(older.stdout).comparison.rows
    expect(rows.every((row) => Number.isFinite(row.baseline) && row.baseline > 0)).toBe(true)
    expect(rows.find((row) => row.figure === 'p75')!.regression).toBe(true)
    const same = await fanout(['loadtest', 'merge', base, '--compare', base, '--json'])
    expect(same.code).toBe(0)
    expect(parseJsonDocument<{comparison: Comparison}>(same.stdout).comparison.rows.every((row) => row.change === 0)).toBe(true)
  })

  it('a baseline that is not a loadtest result, or a bad --tolerance, is exit 2 before any request', async () => {
    const notOne = await fanout(['loadtest', '-q', url, '-n', '5', '--compare', join(dir, 'missing.json')])
    expect(notOne.code).toBe(2)
    expect(notOne.stderr).toMatch(/^fanout loadtest: --compare: cannot read ".*missing\.json" \(ENOENT\)/)
    const tolerance = await fanout(['loadtest', '-q', url, '-n', '5', '--tolerance', 'lots'])
    expect(tolerance.code).toBe(2)
    expect(tolerance.stderr).toContain('--tolerance expects a percentage')
    const nowhere = await fanout(['loadtest', '-q', url, '-n', '5', '--report', join(dir, 'no', 'such', 'r.html')])
    expect(nowhere.code).toBe(2)
    expect(nowhere.stderr).toMatch(/--report: the directory of ".*r\.html" \(".*such"\) does not exist/)
  })
})

describe.runIf(hasProgram('chromium', 'chromium'))('loadtest --report in headless Chromium', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** Opens the page with every request other than the file itself refused; what it logged and drew. */
  async function open(file: string, screenshot: string) {
    const context = await browser.newContext({viewport: {width: 1100, height: 900}})
    const fetched: string[] = []
    await context.route('**/*', (route) => {
      if (route.request().url() === pathToFileURL(file).href) return route.continue()
      fetched.push(route.request().url())
      return route.abort()
    })
    const page = await context.newPage()
    const problems = pageProblems(page)
    await page.goto(pathToFileURL(file).href)
    await page.waitForFunction(() => Object.keys((globalThis as {fanoutCharts?: object}).fanoutCharts ?? {}).length > 0)
    const charts = await page.evaluate(() => {
      const drawn = (globalThis as unknown as {fanoutCharts: Record<string, {data: number[][]; series: {label: string}[]}>}).fanoutCharts
      return Object.fromEntries(Object.entries(drawn).map(([id, chart]) => [id, {points: chart.data.map((column) => column.filter((v) => v != null).length), labels: chart.series.map((s) => s.label)}]))
    })
    const text = await page.locator('body').innerText()
    await page.screenshot({path: screenshot, fullPage: true})
    await context.close()
    return {charts, problems, fetched, text}
  }

  it('draws a paced run against its baseline: spectrum corrected, from send and baseline; req/s, p50/p99, statuses over time; config and thresholds', async () => {
    delayMs = 1
    const base = join(dir, 'paced-base.json')
    expect((await fanout(['loadtest', '-q', url, '-d', '2s', '-w', '4', '-o', base])).code).toBe(0)
    const file = join(dir, 'report.html')
    const run = await fanout(['loadtest', '-q', url, '-R', '400', '-d', '3s', '-w', '4', '--threshold', 'p99<10s', '--threshold', 'non-2xx<1%', '--compare', base, '--tolerance', '100000%', '--report', file])
    expect(run.code).toBe(1) // non-2xx is 5%: the threshold fails, and the page says so
    const html = await readFile(file, 'utf8')
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/) // nothing to fetch: uPlot is inlined
    const shot = join(dir, 'report.png')
    const {charts, problems, fetched, text} = await open(file, shot)
    expect(problems).toEqual([])
    expect(fetched).toEqual([])
    expect(Object.keys(charts).sort()).toEqual(['chart-latency', 'chart-outcomes', 'chart-rps', 'chart-spectrum'])
    expect(charts['chart-spectrum']!.labels.slice(1)).toEqual(['corrected', 'from send', 'baseline'])
    for (const [id, chart] of Object.entries(charts)) for (const points of chart.points) expect(points, id).toBeGreaterThanOrEqual(2)
    expect(charts['chart-spectrum']!.points[0]).toBeGreaterThanOrEqual(10)
    expect(charts['chart-latency']!.labels.slice(1)).toEqual(['p50', 'p99'])
    expect(charts['chart-outcomes']!.labels.slice(1)).toEqual(['status 200', 'status 503'])
    expect(text).toMatch(/p99<10s\s+\S+\s+✓ pass/)
    expect(text).toMatch(/non-2xx<1%\s+\S+\s+✗ FAIL/)
    expect(text).toMatch(/no regression against/)
    expect(text).toMatch(/rate\s+400/)
    expect((await stat(shot)).size).toBeGreaterThan(20_000)
    process.stderr.write(`loadtest --report screenshot: ${shot}\n`)
  })

  it('loadtest merge --report draws the merged run', async () => {
    delayMs = 1
    const [a, b] = [join(dir, 'm-a.json'), join(dir, 'm-b.json')]
    expect((await fanout(['loadtest', '-q', url, '-d', '2s', '-w', '2', '-o', a])).code).toBe(0)
    expect((await fanout(['loadtest', '-q', url, '-d', '2s', '-w', '2', '-o', b])).code).toBe(0)
    const file = join(dir, 'merged.html')
    const merged = await fanout(['loadtest', 'merge', a, b, '--report', file, '--json'])
    expect(merged.code).toBe(0)
    const report = parseJsonDocument<{summary: {completed: number}}>(merged.stdout)
    const {charts, problems, text} = await open(file, join(dir, 'merged.png'))
    expect(problems).toEqual([])
    expect(charts['chart-rps']!.points[1]).toBeGreaterThanOrEqual(2)
    expect(text).toContain('fanout loadtest (2 runs merged)')
    expect(text).toMatch(new RegExp(`completed\\s+${report.summary.completed}\\b`))
  })
})
