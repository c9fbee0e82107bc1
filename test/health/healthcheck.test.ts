import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startBackends} from '../../fixtures/servers/backends.mjs'
import type {Backends} from '../../fixtures/servers/backends.mjs'
import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {closedPort} from '../helpers/servers.js'

let backends: Backends
let base: string
let dir: string

beforeAll(async () => {
  backends = await startBackends({hosts: ['127.0.0.1']})
  base = `http://127.0.0.1:${backends.port}`
  dir = await mkdtemp(join(tmpdir(), 'fanout-health-'))
})
afterAll(() => backends.close())

const json = parseJsonDocument
type R = {name: string; target: string; status: string; attempts: number; error?: {code: string; message: string}; httpStatus?: number}

describe('fanout healthcheck, end to end', () => {
  it('checks URLs given as arguments, lists the unhealthy first with why, exits 1', async () => {
    const closed = await closedPort()
    const run = await fanout(['healthcheck', `${base}/health`, `${base}/status/500`, `tcp://127.0.0.1:${closed}`, `tcp://127.0.0.1:${backends.port}`])
    expect(run.code).toBe(1)
    const lines = run.stdout.split('\n')
    expect(lines[0]).toMatch(/^check\s+status\s+http\s+time\s+tries\s+why/)
    expect(lines[1]).toMatch(/status\/500\s+UNHEALTHY\s+500\s+.*condition: \[STATUS\] \(500\) < 400/)
    expect(run.stdout).toMatch(new RegExp(`tcp://127.0.0.1:${closed}\\s+UNHEALTHY.*refused`))
    expect(run.stdout).toContain('4 checks: 2 healthy, 2 unhealthy (1 condition, 1 refused), 0 cancelled')
  })

  it('a YAML check file: conditions, groups, phases, retries reported, the JSON envelope', async () => {
    const file = join(dir, 'checks.yaml')
    await writeFile(
      file,
      `defaults:
  timeout: 2s
  retry-delay: 50ms
checks:
  - name: api
    group: core
    url: \${BASE}/health
    conditions: ["[STATUS] == 200", "[BODY].status == UP", "len([BODY].items) == 3", "[RESPONSE_TIME] < 2000"]
  - name: degraded
    group: core
    url: \${BASE}/degraded
    conditions: ["[BODY].status == UP"]
  - name: warming-up
    group: edge
    url: \${BASE}/flaky?id=\${RUN}&fail=2
    retries: 3
    conditions: ["[STATUS] == 200"]
  - name: stuck
    group: edge
    url: \${BASE}/hang
    timeout: 300ms
`,
    )
    const run = await fanout(['healthcheck', '--file', file, '--json'], {env: {BASE: base, RUN: 'json'}})
    expect(run.code).toBe(1)
    const report = json(run.stdout)
    expect(report).toMatchObject({command: 'healthcheck', ok: false, summary: {total: 4, succeeded: 2, failed: 2, cancelled: 0}})
    const [api, degraded, warming, stuck] = report.results
    expect(api).toMatchObject({name: 'api', group: 'core', status: 'succeeded', httpStatus: 200, attempts: 1, ip: '127.0.0.1'})
    expect(api.conditions.map((c: {ok: boolean}) => c.ok)).toEqual([true, true, true, true])
    expect(api.phases.connect).toBeGreaterThanOrEqual(0)
    expect(api.phases.ttfb).toBeGreaterThanOrEqual(0)
    expect(degraded).toMatchObject({status: 'failed', error: {code: 'condition'}})
    expect(degraded.conditions[0]).toMatchObject({ok: false, actual: expect.stringContaining('DOWN')})
    expect(warming).toMatchObject({status: 'succeeded', attempts: 3, httpStatus: 200})
    expect(stuck).toMatchObject({status: 'failed', error: {code: 'timeout'}})
    expect(stuck.durationMs).toBeGreaterThanOrEqual(290)
    expect(stuck.durationMs).toBeLessThan(1500)
    const table = await fanout(['healthcheck', '--file', file], {env: {BASE: base, RUN: 'table'}})
    expect(table.stdout).toMatch(/passed on try 3/)
    expect(table.stdout).toMatch(/^group\s+check/)
  })

  it('2,000 targets in one run with a few failing: every result reported, failures exact, none cancelled', async () => {
    const failing = new Set([7, 311, 1200, 1999])
    const urls = Array.from({length: 2000}, (_, i) => `${base}/${failing.has(i) ? 'status/503' : 'health'}?backend=${i}`)
    const file = join(dir, 'urls.txt')
    await writeFile(file, urls.join('\n'))
    const run = await fanout(['healthcheck', '--file', file, '--workers', '100', '--json'])
    expect(run.code).toBe(1)
    const report = json(run.stdout)
    expect(report.summary).toMatchObject({total: 2000, succeeded: 1996, failed: 4, cancelled: 0})
    expect(report.results.map((r: R) => r.target)).toEqual(urls)
    const failed = report.results.flatMap((r: R, i: number) => (r.status === 'failed' ? [i] : []))
    expect(failed).toEqual([...failing])
    for (const i of failing) expect(report.results[i]).toMatchObject({httpStatus: 503, error: {code: 'condition'}})
  })

  it('--max-failures tolerates some unhealthy checks; -C sets conditions for URL checks', async () => {
    const run = await fanout(['healthcheck', `${base}/health`, `${base}/degraded`, '-C', '[BODY].status == UP', '--max-failures', '1', '--quiet'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('1 healthy, 1 unhealthy (1 condition)')
  })

  it('--format junit: a failure for a condition, an error for anything else; prometheus: blackbox names', async () => {
    const closed = await closedPort()
    const args = ['healthcheck', `${base}/health`, `${base}/status/500`, `http://127.0.0.1:${closed}/`]
    const junit = await fanout([...args, '--format', 'junit'])
    expect(junit.code).toBe(1)
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="fanout healthcheck" tests="3" failures="1" errors="1" time="[\d.]+">/)
    expect(junit.stdout).toMatch(/<failure type="condition" message="\[STATUS\] \(500\) &#60; 400">/)
    expect(junit.stdout).toMatch(/<error type="refused" message="[^"]+">/)
    const output = join(dir, 'health.prom')
    const prom = await fanout([...args, '--format', 'prometheus', '--output', output])
    expect(prom.code).toBe(1)
    expect(prom.stdout).toBe('')
    const text = await readFile(output, 'utf8')
    expect(text).toContain(`probe_success{target="${base}/health",name="${base}/health"} 1`)
    expect(text).toContain(`probe_success{target="${base}/status/500",name="${base}/status/500"} 0`)
    expect(text).toContain(`probe_http_status_code{target="${base}/status/500",name="${base}/status/500"} 500`)
    expect(text).toMatch(/probe_http_duration_seconds\{target="[^"]+",name="[^"]+",phase="connect"\} [\d.e-]+/)
    expect(text).toMatch(/# HELP probe_duration_seconds/)
  })

  it('--validate checks a file without running it: exit 0, or 2 naming file:line', async () => {
    const good = join(dir, 'good.yaml')
    await writeFile(good, 'checks:\n  - url: http://127.0.0.1:1/never-contacted\n    conditions: ["[STATUS] == 200"]\n')
    const ok = await fanout(['healthcheck', '--validate', good])
    expect(ok).toMatchObject({code: 0, stdout: `${good}: 1 check, valid\n`})
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'checks:\n  - url: http://127.0.0.1:1/\n    conditions:\n      - "[STATUS] = 200"\n')
    const refused = await fanout(['healthcheck', '--validate', bad])
    expect(refused.code).toBe(2)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(new RegExp(`^fanout healthcheck: ${bad}:4: `))
    const none = await fanout(['healthcheck'])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/no checks: give URLs as arguments/)
  })

  it('--watch outside a terminal prints the first report, then only changes; Ctrl-C exits 130 with the last report', async () => {
    const run = await fanout(['healthcheck', `${base}/toggle?id=watch`, `${base}/health`, '--watch', '1s', '--quiet'], {
      interruptWhen: (stdout) => /UNHEALTHY -> healthy/.test(stdout),
    })
    expect(run.code).toBe(130)
    const lines = run.stdout.trim().split('\n')
    expect(run.stdout).toContain('2 checks: 2 healthy, 0 unhealthy')
    const changes = lines.filter((line) => line.includes(' -> '))
    expect(changes[0]).toMatch(/^\d{4}-\d\d-\d\dT.*toggle\?id=watch: healthy -> UNHEALTHY \(condition: \[STATUS\] \(503\) < 400\)$/)
    expect(changes[1]).toMatch(/toggle\?id=watch: UNHEALTHY -> healthy$/)
    expect(run.stdout).not.toMatch(/\/health: /) // the steady check never shows up again
  })
})
