import {spawn, spawnSync} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {createServer} from 'node:http'
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout, until} from '../helpers/cli.js'
import {closedPort} from '../helpers/servers.js'
import {hasProgram} from '../helpers/system-program.js'

let dir: string
let server: Server
let base: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-consumers-'))
  server = createServer((_request, response) => response.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server?.close()
  await rm(dir, {recursive: true, force: true})
})

/** Sample lines (not comments) of a text exposition. */
const samples = (text: string) => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'))

describe.runIf(hasProgram('promtool', 'prometheus'))('promtool check metrics', () => {
  it('passes on the metrics of every command, with no float noise, and probe_http_* only for HTTP targets', {timeout: 90_000}, async () => {
    const file = (name: string) => join(dir, `${name}.prom`)
    const runs = await Promise.all([
      fanout(['exec', '-t', 'a', '-t', 'b', '-q', '--keep-going', '--metrics-file', file('exec'), '--', 'sh', '-c', 'test {} = a']),
      fanout(['healthcheck', `${base}/`, `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, '-q', '--metrics-file', file('healthcheck')]),
      fanout(['healthcheck', `${base}/`, `tcp://127.0.0.1:${await closedPort()}`, '--format', 'prometheus', '--output', file('blackbox')]),
      fanout(['loadtest', `${base}/`, '-n', '300', '-w', '3', '-q', '--metrics-file', file('loadtest')]),
      fanout(['migrate', '--database', 'pglite://memory', '--dir', 'fixtures/migrations', '-n', 'p_1,p_2', '--create-namespaces', '-q', '--metrics-file', file('migrate')]),
    ])
    for (const run of runs) expect(run.stderr).not.toMatch(/internal error/)
    for (const name of ['exec', 'healthcheck', 'blackbox', 'loadtest', 'migrate']) {
      const text = await readFile(file(name), 'utf8')
      const check = spawnSync('promtool', ['check', 'metrics'], {input: text, encoding: 'utf8'})
      expect(`${check.stdout}${check.stderr}`, name).toBe('')
      expect(check.status, name).toBe(0)
      for (const line of samples(text)) expect(line, name).not.toMatch(/ -?\d+\.\d*(0{5,}|9{5,})\d+$/) // 0.10294353300000001, 0.0715238749999999
    }
    const blackbox = await readFile(file('blackbox'), 'utf8')
    expect(blackbox).toMatch(/^probe_http_duration_seconds\{target="http:/m)
    expect(blackbox).not.toMatch(/^probe_http_duration_seconds\{target="tcp:/m)
    // loadtest's shared series count requests: every one settled, none left in flight or queued.
    const load = await readFile(file('loadtest'), 'utf8')
    expect(load).toMatch(/^fanout_tasks_total\{command="loadtest",outcome="succeeded"\} 300$/m)
    expect(load).toMatch(/^fanout_tasks_queued\{command="loadtest"\} 0$/m)
    expect(load).toMatch(/^fanout_tasks_in_flight\{command="loadtest"\} 0$/m)
  })

  it('passes on /metrics scraped while a loadtest runs, which counts requests in flight', {timeout: 60_000}, async () => {
    const slow = createServer((_request, response) => setTimeout(() => response.end('ok'), 20))
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const port = await closedPort()
    const run = fanout(['loadtest', `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`, '-d', '3s', '-w', '4', '-q', '--metrics-addr', `127.0.0.1:${port}`])
    try {
      const text = await until(async () => {
        const body = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '')
        return /fanout_tasks_total\{command="loadtest",outcome="succeeded"\} [1-9]/.test(body) && body
      }, 20_000)
      expect(text).toMatch(/^fanout_tasks_in_flight\{command="loadtest"\} [1-4]$/m)
      expect(text).toMatch(/^fanout_tasks_queued\{command="loadtest"\} 0$/m)
      expect(spawnSync('promtool', ['check', 'metrics'], {input: text, encoding: 'utf8'}).status).toBe(0)
    } finally {
      await run
      slow.close()
    }
  })
})

describe.runIf(hasProgram('prometheus', 'prometheus') && hasProgram('prometheus-pushgateway', 'prometheus-pushgateway'))('a real Prometheus server', () => {
  let prometheus: ChildProcess
  let gateway: ChildProcess
  let api: string
  let gatewayUrl: string
  let execPort: number

  beforeAll(async () => {
    const [promPort, gatewayPort] = [await closedPort(), await closedPort()]
    execPort = await closedPort()
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`
    api = `http://127.0.0.1:${promPort}`
    gateway = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${gatewayPort}`], {stdio: 'ignore'})
    const config = join(dir, 'prometheus.yml')
    await writeFile(config, [
      'global: {scrape_interval: 1s, scrape_timeout: 900ms}',
      'scrape_configs:',
      `  - {job_name: pushgateway, honor_labels: true, static_configs: [{targets: ['127.0.0.1:${gatewayPort}']}]}`,
      `  - {job_name: fanout_exec, static_configs: [{targets: ['127.0.0.1:${execPort}']}]}`,
      '',
    ].join('\n'))
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], {stdio: 'ignore'})
    await until(() => fetch(`${api}/-/ready`).then((r) => r.ok, () => false), 20_000)
    await until(() => fetch(`${gatewayUrl}/-/ready`).then((r) => r.ok, () => false), 20_000)
  }, 60_000)
  afterAll(() => {
    prometheus?.kill()
    gateway?.kill()
  })

  /** The instant vector of a PromQL query: each series' labels and value. */
  const query = async (promql: string) => {
    const body = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as {data: {result: {metric: Record<string, string>; value: [number, string]}[]}}
    return body.data.result
  }

  it('shows a pushed run\'s series; a second run replaces them', {timeout: 90_000}, async () => {
    const push = (path: string) => fanout(['healthcheck', `${base}${path}`, '-q', '--pushgateway', gatewayUrl, '--push-job', 'team/checks', '--push-required'])
    expect((await push('/first')).code).toBe(0)
    const first = await until(async () => {
      const result = await query('probe_success{job="team/checks"}')
      return result.length > 0 && result
    }, 30_000)
    expect(first.map((series) => series.metric.name)).toEqual([`${base}/first`])
    expect(first[0]!.value[1]).toBe('1')
    expect((await push('/second')).code).toBe(0)
    const second = await until(async () => {
      const result = await query('probe_success{job="team/checks"}')
      return result.length === 1 && result[0]!.metric.name === `${base}/second` && result
    }, 30_000)
    expect(second).toHaveLength(1)
    const tasks = await query('fanout_tasks_total{job="team/checks",command="healthcheck",outcome="succeeded"}')
    expect(tasks.map((series) => series.value[1])).toEqual(['1'])
  })

  it('scrapes --metrics-addr while exec runs, and sees the final figures', {timeout: 90_000}, async () => {
    const run = fanout(['exec', ...['a', 'b', 'c', 'd'].flatMap((t) => ['-t', t]), '-w', '2', '-q', '--metrics-addr', `127.0.0.1:${execPort}`, '--metrics-linger', '20s', '--', 'sh', '-c', 'sleep 0.5'])
    const settled = await until(async () => {
      const result = await query('fanout_tasks_total{job="fanout_exec",command="exec",outcome="succeeded"}')
      return result[0]?.value[1] === '4' && result
    }, 40_000)
    expect(settled[0]!.metric.instance).toBe(`127.0.0.1:${execPort}`)
    expect((await query('fanout_run_success{job="fanout_exec",command="exec"}'))[0]?.value[1]).toBe('1')
    ;(await run.catch(() => undefined)) // ends after its linger
  })
})
