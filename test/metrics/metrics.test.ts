import {spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {execFileSync} from 'node:child_process'
import {mkdtemp, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startBackends} from '../../fixtures/servers/backends.mjs'
import type {Backends} from '../../fixtures/servers/backends.mjs'
import {fanout, until} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {closedPort} from '../helpers/servers.js'
import {hasProgram} from '../helpers/system-program.js'
import type {Envelope, Result} from '../../src/report/envelope.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

/** Starts the CLI and collects its output as it comes, for tests that talk to it while it runs. */
function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args])
  const out = {stdout: '', stderr: '', code: undefined as number | null | undefined}
  child.stdout.on('data', (chunk) => (out.stdout += chunk))
  child.stderr.on('data', (chunk) => (out.stderr += chunk))
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve((out.code = code))))
  return {child, out, closed}
}

async function scrape(url: string): Promise<string> {
  return (await fetch(url)).text()
}

/** The value of one series in Prometheus text format, e.g. fanout_tasks_total{command="exec",outcome="succeeded"}. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('metrics', () => {
  it('serves /metrics while exec runs (counters grow) and, lingering, the final figures match the JSON report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-metrics-'))
    const targets = Array.from({length: 12}, (_, i) => ['-t', `t${i}`]).flat()
    const run = start(['exec', ...targets, '-w', '3', '--keep-going', '--json', '--metrics-addr', '127.0.0.1:0', '--metrics-linger', '5s',
      '--', 'sh', '-c', `sleep 0.15; touch ${dir}/{}; [ {} != t5 ]`])
    const address = await until(() => /serving (http:\/\/\S+\/metrics)/.exec(run.out.stderr)?.[1])
    const settled = async () => {
      const text = await scrape(address)
      return ['succeeded', 'failed'].reduce((sum, o) => sum + (sample(text, `fanout_tasks_total{command="exec",outcome="${o}"}`) ?? 0), 0)
    }
    await sleep(250)
    const early = await settled()
    await sleep(400)
    const later = await settled()
    expect(later).toBeGreaterThan(early)
    const report = await until<Envelope<Result>>(() => (run.out.stdout.endsWith('\n') ? parseJsonDocument(run.out.stdout) : undefined))
    const final = await scrape(address) // the run is over; /metrics lingers
    expect(sample(final, 'fanout_tasks_total{command="exec",outcome="succeeded"}')).toBe(report.summary.succeeded)
    expect(sample(final, 'fanout_tasks_total{command="exec",outcome="failed"}')).toBe(report.summary.failed)
    expect(sample(final, 'fanout_tasks_total{command="exec",outcome="cancelled"}')).toBe(report.summary.cancelled)
    expect(sample(final, 'fanout_task_duration_seconds_count{command="exec"}')).toBe(12)
    expect(sample(final, 'fanout_tasks_in_flight{command="exec"}')).toBe(0)
    expect(sample(final, 'fanout_tasks_queued{command="exec"}')).toBe(0)
    expect(sample(final, 'fanout_run_success{command="exec"}')).toBe(0)
    expect(sample(final, 'fanout_run_duration_seconds{command="exec"}')).toBeCloseTo(report.summary.durationMs / 1000, 2)
    run.child.kill('SIGINT') // cuts the linger short
    expect(await run.closed).toBe(1)
  })

  it('--metrics-file writes the final figures for a textfile collector', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'fanout-textfile-')), 'fanout.prom')
    const run = await fanout(['exec', '-t', 'a', '-t', 'b', '-q', '--metrics-file', file, '--', 'true'])
    expect(run.code).toBe(0)
    const text = await readFile(file, 'utf8')
    expect(sample(text, 'fanout_tasks_total{command="exec",outcome="succeeded"}')).toBe(2)
    expect(sample(text, 'fanout_run_success{command="exec"}')).toBe(1)
  })

  it('migrate counts migrations applied and namespaces per version; by namespace only when asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-textfile-'))
    const migrate = (file: string, extra: string[]) =>
      fanout(['migrate', '--database', 'pglite://memory', '--dir', 'fixtures/migrations', '-n', 'm_1,m_2,m_3', '--create-namespaces', '-q', '--metrics-file', join(dir, file), ...extra])
    expect((await migrate('fleet.prom', ['--target', '4'])).code).toBe(0)
    const fleet = await readFile(join(dir, 'fleet.prom'), 'utf8')
    expect(sample(fleet, 'fanout_migrations_applied_total')).toBe(12)
    expect(sample(fleet, 'fanout_namespaces_at_version{version="4"}')).toBe(3)
    expect(fleet).not.toContain('namespace=')
    expect((await migrate('each.prom', ['--metrics-per-namespace'])).code).toBe(0)
    const each = await readFile(join(dir, 'each.prom'), 'utf8')
    expect(sample(each, 'fanout_migrations_applied_total{namespace="m_2"}')).toBe(5)
    expect(sample(each, 'fanout_namespace_version{namespace="m_3"}')).toBe(5)
    expect(sample(each, 'fanout_tasks_total{command="migrate",outcome="succeeded"}')).toBe(3)
  }, 90_000) // two runs that each open PGlite (seconds apiece on a loaded machine)

  it('opens no server when metrics are off', async () => {
    const listens = async (args: string[]) => {
      const run = start(['exec', '-t', 'a', '-q', '--stream', ...args, '--', 'sh', '-c', 'echo started; sleep 1'])
      await until(() => run.out.stdout.includes('started')) // the run is under way
      const listening = execFileSync('ss', ['-ltnpH'], {encoding: 'utf8'}).includes(`pid=${run.child.pid},`)
      await run.closed
      return listening
    }
    expect(await listens(['--metrics-addr', '127.0.0.1:0'])).toBe(true) // the check can see a server…
    expect(await listens([])).toBe(false) // …and there is none without the flag
  })

  describe.runIf(hasProgram('prometheus-pushgateway', 'prometheus-pushgateway'))('with a real Prometheus Pushgateway', () => {
    let gateway: ChildProcess
    let gatewayUrl: string
    let backends: Backends

    beforeAll(async () => {
      const port = await closedPort()
      gatewayUrl = `http://127.0.0.1:${port}`
      gateway = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`], {stdio: 'ignore'})
      for (let i = 0; i < 250; i++) {
        if (await fetch(`${gatewayUrl}/-/ready`).then((r) => r.ok, () => false)) break
        await sleep(20)
      }
      backends = await startBackends()
    })
    afterAll(async () => {
      gateway?.kill()
      await backends?.close()
    })

    it('receives the final figures of a healthcheck, blackbox names included', async () => {
      const url = `http://127.0.0.1:${backends.port}/health`
      const run = await fanout(['healthcheck', url, '--quiet', '--pushgateway', gatewayUrl, '--push-job', 'ci_gate'])
      expect(run.code).toBe(0)
      const pushed = await scrape(`${gatewayUrl}/metrics`)
      expect(pushed).toMatch(/fanout_tasks_total\{command="healthcheck",instance="[^"]+",job="ci_gate",outcome="succeeded"\} 1/)
      expect(pushed).toMatch(new RegExp(`probe_success\\{instance="[^"]+",job="ci_gate",name="${url.replaceAll('/', '\\/')}",target="[^"]+"\\} 1`))
      expect(pushed).toMatch(/fanout_run_success\{command="healthcheck",instance="[^"]+",job="ci_gate"\} 1/)
    })

    it('shards of one Job push side by side, each under its own shard in the grouping key', async () => {
      const urls = Array.from({length: 6}, (_, i) => `http://127.0.0.1:${backends.port}/health?i=${i}`)
      const runs = await Promise.all([0, 1].map((index) => fanout(['healthcheck', ...urls, '--quiet', '--shard', `${index}/2`, '--pushgateway', gatewayUrl, '--push-job', 'sharded'])))
      for (const run of runs) expect(run.code, run.stderr).toBe(0)
      const pushed = await scrape(`${gatewayUrl}/metrics`)
      const totals = [0, 1].map((shard) => Number(new RegExp(`fanout_tasks_total\\{command="healthcheck",instance="[^"]+",job="sharded",outcome="succeeded",shard="${shard}"\\} (\\d+)`).exec(pushed)?.[1]))
      expect(totals[0]! + totals[1]!).toBe(6) // neither push replaced the other
    })

    it('a second run replaces the group it pushed (PUT), and a job with a / goes in the @base64 form', async () => {
      const first = `http://127.0.0.1:${backends.port}/health`
      const second = `http://127.0.0.1:${backends.port}/health?second`
      const push = (url: string) => fanout(['healthcheck', url, '--quiet', '--pushgateway', gatewayUrl, '--push-job', 'team/a b', '--push-required'])
      expect((await push(first)).code).toBe(0)
      const once = await scrape(`${gatewayUrl}/metrics`)
      expect(once).toMatch(/probe_success\{instance="[^"]+",job="team\/a b",name="[^"]+\/health",target="[^"]+"\} 1/)
      expect((await push(second)).code).toBe(0)
      const twice = (await scrape(`${gatewayUrl}/metrics`)).split('\n').filter((line) => line.startsWith('probe_success{') && line.includes('job="team/a b"'))
      expect(twice).toHaveLength(1)
      expect(twice[0]).toContain('?second')
    })

    it('a failed push is reported and leaves the exit code alone, unless --push-required', async () => {
      const nowhere = `http://127.0.0.1:${await closedPort()}`
      const url = `http://127.0.0.1:${backends.port}/health`
      const lenient = await fanout(['healthcheck', url, '--quiet', '--pushgateway', nowhere])
      expect(lenient.code).toBe(0)
      expect(lenient.stderr).toMatch(/--pushgateway: could not push to http:\/\/127.0.0.1:\d+ .*the command's result stands/)
      const strict = await fanout(['healthcheck', url, '--quiet', '--pushgateway', nowhere, '--push-required'])
      expect(strict.code).toBe(1)
      expect(strict.stderr).toMatch(/--push-required/)
    })
  })
})
