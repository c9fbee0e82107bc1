import {spawn} from 'node:child_process'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import * as hdr from 'hdr-histogram-js'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {shardPositions} from '../../src/shard/assign.js'
import {fanout, until} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import type {CliOptions, CliRun} from '../helpers/cli.js'
import {httpServer} from '../helpers/servers.js'
import type {TestServer} from '../helpers/servers.js'
import {names, postgresBackend} from '../migrate/backends.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

interface Doc {
  command: string
  runId: string
  ok: boolean
  shard: {index: number; count: number; input: string; total: number; positions?: number[]}
  summary: Record<string, number>
  results: Record<string, unknown>[]
  merged?: {shards: number; of: number; missing?: number[]; notes: string[]}
}

/** The recipe of deploy/kubernetes/ run here: COUNT processes, each told its index as a Job's pod is. */
function shards(args: string[], count: number, options: CliOptions = {}): Promise<CliRun[]> {
  return Promise.all(
    Array.from({length: count}, (_, index) =>
      fanout([args[0]!, '--shard', 'auto', ...args.slice(1)], {...options, env: {...options.env, JOB_COMPLETION_INDEX: String(index), JOB_COMPLETIONS: String(count)}}),
    ),
  )
}

/** `kubectl logs -l job-name=… --tail=-1 | fanout merge -`: stdout and stderr of every pod, one after another. */
function mergeLogs(runs: CliRun[], flags: string[] = ['--json']): Promise<CliRun> {
  return fanout(['merge', '-', ...flags], {input: runs.map((run) => `${run.stderr}${run.stdout}`).join('')})
}

function docs(runs: CliRun[]): Doc[] {
  return runs.map((run) => parseJsonDocument<Doc>(run.stdout))
}

/** Every input position in exactly one shard. */
function expectCover(shardDocs: Doc[], total: number): void {
  const positions = shardDocs.flatMap((doc) => doc.shard.positions ?? doc.results.map((_, i) => i))
  expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({length: total}, (_, i) => i))
  expect(new Set(shardDocs.map((doc) => doc.shard.input)).size).toBe(1)
}

const counts = (doc: Doc) => ({total: doc.summary.total, succeeded: doc.summary.succeeded, failed: doc.summary.failed, cancelled: doc.summary.cancelled})

describe('exec over shards', {timeout: 120_000}, () => {
  const targets = [...Array.from({length: 20}, (_, i) => `t${i}`), 't5'] // t5 twice: run twice, as unsharded
  const args = ['exec', ...targets.flatMap((t) => ['-t', t]), '--keep-going', '--json', '--', 'sh', '-c', 'case {} in t3|t11) echo no >&2; exit 4;; esac; echo "{} $FANOUT_INDEX"']
  let whole: Doc
  beforeAll(async () => {
    const run = await fanout(args)
    expect(run.code).toBe(1)
    whole = JSON.parse(run.stdout)
  })

  it.each([1, 3, 7])('%i shards cover every target once and merge into the unsharded report and exit code', async (count) => {
    const runs = await shards(args, count)
    const shardDocs = docs(runs)
    expectCover(shardDocs, targets.length)
    for (const doc of shardDocs) expect(doc.shard.count).toBe(count)
    const merged = await mergeLogs(runs)
    expect(merged.code, merged.stderr).toBe(1)
    const doc = parseJsonDocument(merged.stdout) as Doc
    expect(counts(doc)).toEqual(counts(whole))
    const outcome = (r: Record<string, unknown>) => [r.target, r.status, r.exitCode, r.stdout, r.stderr]
    expect(doc.results.map(outcome)).toEqual(whole.results.map(outcome)) // FANOUT_INDEX is the input position in both
    expect(doc.merged).toMatchObject({shards: count, of: count, notes: []})
  })

  it('--shard-by range: consecutive blocks of the input, merged back the same', async () => {
    const runs = await shards([args[0]!, '--shard-by', 'range', ...args.slice(1)], 3)
    expect(docs(runs).map((doc) => doc.shard.positions)).toEqual([[0, 1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12, 13], [14, 15, 16, 17, 18, 19, 20]])
    const merged = parseJsonDocument<Doc>((await mergeLogs(runs)).stdout)
    expect(merged.results.map((r) => [r.target, r.status, r.stdout])).toEqual(whole.results.map((r) => [r.target, r.status, r.stdout]))
  })

  it('the table says which shard and which input; bad --shard is exit 2 in one line', async () => {
    const run = await fanout(['exec', '-t', 'a', '-t', 'b', '-t', 'c', '--shard', '1/2', '--', 'true'])
    expect(run.stdout).toMatch(/shard 1\/2 \(by hash\) · \d of 3 targets · input sha256:[0-9a-f]{12}…/)
    for (const bad of ['2/2', 'x', 'auto']) {
      const refused = await fanout(['exec', '-t', 'a', '--shard', bad, '--', 'true'], {env: {JOB_COMPLETION_INDEX: undefined, JOB_COMPLETIONS: undefined}})
      expect(refused.code, bad).toBe(2)
      expect(refused.stderr.trim().split('\n'), bad).toHaveLength(1)
      expect(refused.stderr).toContain('--shard')
    }
  })

  it('refuses a missing shard, a repeated one, another input and another command, naming them; --partial says what is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-merge-refusals-'))
    const write = async (name: string, run: CliRun) => (await writeFile(join(dir, name), run.stdout), join(dir, name))
    const [a0, a1, a2] = await shards(args, 3)
    const files = [await write('a0.json', a0!), await write('a1.json', a1!), await write('a2.json', a2!)]
    const missing = await fanout(['merge', files[0]!, files[2]!])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('shard 1/3 missing')
    const repeated = await fanout(['merge', ...files, files[1]!])
    expect(repeated.code).toBe(2)
    expect(repeated.stderr).toContain(`${files[1]} and ${files[1]} are the same run`)
    const b1 = await fanout(['exec', '-t', 'other', '--shard', '1/3', '--json', '--', 'true'])
    const otherInput = await fanout(['merge', files[0]!, await write('b1.json', b1), files[2]!])
    expect(otherInput.code).toBe(2)
    expect(otherInput.stderr).toContain(`${join(dir, 'b1.json')} and ${files[0]} are runs of different inputs`)
    const health = await fanout(['healthcheck', 'tcp://127.0.0.1:1', '--json', '--shard', '1/3'])
    const otherCommand = await fanout(['merge', files[0]!, await write('h1.json', health)])
    expect(otherCommand.code).toBe(2)
    expect(otherCommand.stderr).toContain(`${join(dir, 'h1.json')} is a healthcheck report and ${files[0]} a exec report`)
    await writeFile(join(dir, 'cut.json'), a1!.stdout.slice(0, 200))
    const cut = await fanout(['merge', files[0]!, join(dir, 'cut.json'), files[2]!])
    expect(cut.code).toBe(2)
    expect(cut.stderr).toContain(`${join(dir, 'cut.json')}:1: not a whole JSON document`)
    const partial = await fanout(['merge', files[0]!, files[2]!, '--partial'])
    expect(partial.code).toBe(1)
    expect(partial.stdout).toMatch(/merged 2 of 3 shards/)
    expect(partial.stdout).toContain('partial: shard 1/3 missing; their targets are not in this report')
    const partialDoc = JSON.parse((await fanout(['merge', files[0]!, files[2]!, '--partial', '--json'])).stdout) as Doc
    expect(partialDoc.merged).toMatchObject({shards: 2, of: 3, missing: [1]})
    expect(partialDoc.summary.total).toBe(targets.length - JSON.parse(a1!.stdout).results.length)
  })
})

describe('a retried pod', {timeout: 120_000}, () => {
  it('its interrupted report is superseded by the whole one of the same shard, and the merge says so', async () => {
    const started = await mkdtemp(join(tmpdir(), 'fanout-retried-'))
    const args = ['exec', ...Array.from({length: 9}, (_, i) => ['-t', `t${i}`]).flat(), '--keep-going', '--json', '--', 'sh', '-c', `touch ${started}/{}; sleep \${SLOW:-0}`]
    const runs = await shards(args, 3)
    const mine = shardPositions(Array.from({length: 9}, (_, i) => `t${i}`), {index: 1, count: 3, by: 'hash'})
    await rm(started, {recursive: true})
    await mkdir(started)
    // Stopped (SIGTERM on eviction, here Ctrl-C) once its commands run: it prints its partial report.
    const stopped = await fanout(['exec', '--shard', '1/3', ...args.slice(1)], {env: {SLOW: '20'}, interruptWhen: until(async () => (await readdir(started)).length > 0, 20_000)})
    expect(mine.length).toBeGreaterThan(0)
    expect(stopped.code).toBe(130)
    expect(JSON.parse(stopped.stdout).interrupted).toBe(true)
    const merged = await fanout(['merge', '-', '--json'], {input: [runs[0]!.stdout, stopped.stdout, runs[1]!.stdout, runs[2]!.stdout].join('')})
    expect(merged.code, merged.stderr).toBe(0)
    const doc = parseJsonDocument(merged.stdout) as Doc & {interrupted?: true}
    expect(doc.interrupted).toBeUndefined()
    expect(doc.summary).toMatchObject({total: 9, succeeded: 9})
    expect(doc.merged!.notes).toEqual(['shard 1/3: stdin:2 (interrupted) superseded by stdin:3'])
    const alone = await fanout(['merge', '-'], {input: [runs[0]!.stdout, stopped.stdout, runs[2]!.stdout].join('')})
    expect(alone.code).toBe(130) // only the interrupted report of shard 1: the merged run was interrupted
  })
})

describe('healthcheck over shards', {timeout: 120_000}, () => {
  let server: TestServer
  let urls: string[]
  let whole: Doc
  let file: string
  beforeAll(async () => {
    server = await httpServer()
    urls = Array.from({length: 24}, (_, i) => (i % 5 === 2 ? `${server.url}/status/500?i=${i}` : `${server.url}/ok?i=${i}`))
    file = join(await mkdtemp(join(tmpdir(), 'fanout-health-shards-')), 'urls.txt')
    await writeFile(file, urls.join('\n'))
    const run = await fanout(['healthcheck', '--file', file, '--json'])
    expect(run.code).toBe(1)
    whole = JSON.parse(run.stdout)
  })
  afterAll(() => server.close())

  it.each([1, 3, 7])('%i shards cover every check once and merge into the unsharded report, JUnit and Prometheus', async (count) => {
    const runs = await shards(['healthcheck', '--file', file, '--json'], count)
    expectCover(docs(runs), urls.length)
    const merged = await mergeLogs(runs)
    expect(merged.code).toBe(1)
    const doc = parseJsonDocument(merged.stdout) as Doc
    expect(counts(doc)).toEqual(counts(whole))
    const outcome = (r: Record<string, unknown>) => [r.name, r.status, r.httpStatus, (r.error as {code?: string})?.code]
    expect(doc.results.map(outcome)).toEqual(whole.results.map(outcome))
    const junit = await mergeLogs(runs, ['--format', 'junit'])
    expect(junit.stdout.match(/<testcase /g)).toHaveLength(urls.length)
    expect(junit.stdout).toContain(`failures="${whole.summary.failed}"`)
    const prometheus = await mergeLogs(runs, ['--format', 'prometheus', '--max-failures', '10'])
    expect(prometheus.code).toBe(0) // --max-failures as in the unsharded command
    const up = prometheus.stdout.split('\n').filter((line) => line.startsWith('probe_success{'))
    expect(up).toHaveLength(urls.length)
    expect(up.filter((line) => line.endsWith(' 0'))).toHaveLength(whole.summary.failed!)
  })
})

describe('loadtest over shards', {timeout: 120_000}, () => {
  let url: string
  let server: Server
  beforeAll(async () => {
    server = createServer((_request, response) => response.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as {port: number}).port}/`
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  it.each([1, 3, 7])('%i shards split --requests and --workers exactly; the merge has every request in its histogram', async (count) => {
    const runs = await shards(['loadtest', url, '-n', '1000', '-w', '7', '--json'], count)
    for (const run of runs) expect(run.code, run.stderr).toBe(0)
    const shardDocs = docs(runs) as unknown as {config: {workers: number}; summary: {requests: number}; shard: Doc['shard']}[]
    expect(shardDocs.map((doc) => doc.summary.requests)).toEqual(Array.from({length: count}, (_, i) => Math.floor(1000 / count) + (i < 1000 % count ? 1 : 0)))
    expect(shardDocs.reduce((sum, doc) => sum + doc.config.workers, 0)).toBe(7)
    const merged = await mergeLogs(runs)
    expect(merged.code, merged.stderr).toBe(0)
    const doc = parseJsonDocument(merged.stdout) as {summary: {requests: number; completed: number}; config: {workers: number}; tally: {histograms: {latency: string}}}
    expect(doc.summary).toMatchObject({requests: 1000, completed: 1000})
    expect(doc.config.workers).toBe(7)
    expect(hdr.decodeFromCompressedBase64(doc.tally.histograms.latency, 32).totalCount).toBe(1000)
    if (count !== 3) return
    const file = join(await mkdtemp(join(tmpdir(), 'fanout-merged-')), 'merged.json')
    const table = await mergeLogs(runs, ['--output', file])
    expect(table.stdout).toMatch(/^merged 3 of 3 shards \(by hash\) · input sha256:/)
    const again = await fanout(['merge', file, '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).summary).toMatchObject({requests: 1000, completed: 1000}) // --output merges again
  })

  it('--rate splits exactly; a shard left nothing is exit 2', async () => {
    const runs = await shards(['loadtest', url, '-R', '100', '-d', '300ms', '-w', '3', '--json'], 3)
    const rates = runs.map((run) => (JSON.parse(run.stdout) as {config: {rate: number}}).config.rate)
    expect(rates).toEqual([34, 33, 33])
    const merged = JSON.parse((await mergeLogs(runs)).stdout) as {config: {rate: number}; summary: {corrected?: unknown}}
    expect(merged.config.rate).toBe(100)
    expect(merged.summary.corrected).toBeDefined()
    const starved = await fanout(['loadtest', url, '-n', '100', '-w', '2', '--shard', '2/3'])
    expect(starved.code).toBe(2)
    expect(starved.stderr.trim()).toBe('fanout loadtest: --shard 2/3: --workers 2 leaves shard 2/3 nothing; give --workers at least 3 (one for each shard)')
  })

  it('merge cannot lie: the same file twice, other URLs, paced with unpaced, a corrupt histogram are exit 2 naming the files; --force says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-load-merge-'))
    const out = (name: string) => join(dir, name)
    await fanout(['loadtest', url, '-n', '200', '-w', '2', '-o', out('a.json')])
    await fanout(['loadtest', url, '-n', '300', '-w', '2', '-o', out('b.json')])
    await fanout(['loadtest', `${url}other`, '-n', '100', '-w', '2', '-o', out('other.json')])
    await fanout(['loadtest', url, '-n', '100', '-w', '2', '-R', '500', '-o', out('paced.json')])
    await fanout(['loadtest', url, '-n', '100', '-w', '2', '-m', 'POST', '-o', out('post.json')])
    const both = await fanout(['loadtest', 'merge', out('a.json'), out('b.json'), '--json'])
    expect(both.code).toBe(0) // runs side by side of one input add up, as before
    expect(JSON.parse(both.stdout).summary.requests).toBe(500)
    const twice = await fanout(['merge', out('a.json'), out('a.json')])
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain(`${out('a.json')} and ${out('a.json')} are the same run`)
    const forced = await fanout(['merge', out('a.json'), out('a.json'), '--force', '--json'])
    expect(forced.code).toBe(0)
    const forcedDoc = JSON.parse(forced.stdout) as {summary: {requests: number}; merged: {notes: string[]}}
    expect(forcedDoc.summary.requests).toBe(400)
    expect(forcedDoc.merged.notes[0]).toMatch(/^forced: .* are the same run/)
    expect((await fanout(['merge', out('a.json'), out('a.json'), '--force'])).stdout).toMatch(/^merged 2 runs side by side.*\nforced: /)
    const urls = await fanout(['merge', out('a.json'), out('other.json')])
    expect(urls.code).toBe(2)
    expect(urls.stderr).toContain(`${out('other.json')} and ${out('a.json')} are runs of different inputs`)
    const method = await fanout(['merge', out('a.json'), out('post.json')])
    expect(method.code).toBe(2)
    expect(method.stderr).toContain(`${out('post.json')} and ${out('a.json')} are runs of different inputs`)
    const pacing = await fanout(['merge', out('a.json'), out('paced.json')])
    expect(pacing.code).toBe(2)
    expect(pacing.stderr).toContain(`${out('paced.json')} is paced (--rate) and ${out('a.json')} unpaced`)
    const report = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(out('b.json'), 'utf8')))
    report.tally.histograms.latency = 'HISTFAAAAB3not-a-histogram'
    await writeFile(out('corrupt.json'), JSON.stringify(report))
    const corrupt = await fanout(['merge', out('a.json'), out('corrupt.json')])
    expect(corrupt.code).toBe(2)
    expect(corrupt.stderr.trim()).toBe(`fanout merge: ${out('corrupt.json')}: its loadtest figures are corrupt (counts or HDR histograms do not read); give the file loadtest --output wrote`)
  }, 120_000)
})

describe('migrate over shards, on PostgreSQL', {timeout: 120_000}, () => {
  const namespaces = [...names('s', 30), 's_001'] // s_001 twice: migrated once, as unsharded
  const args = (url: string) => ['migrate', '--database', url, '--dir', 'fixtures/migrations', '-n', namespaces.join(','), '--create-namespaces', '--workers', '2', '--json']
  let whole: Doc
  beforeAll(async () => {
    const backend = await postgresBackend()
    try {
      const run = await fanout(args(backend.url))
      expect(run.code, run.stderr).toBe(0)
      whole = JSON.parse(run.stdout)
    } finally {
      await backend.close()
    }
  })

  it.each([1, 3, 7])('%i shards migrate every namespace once and merge into the unsharded report', async (count) => {
    const backend = await postgresBackend()
    try {
      const runs = await shards(args(backend.url), count)
      for (const run of runs) expect(run.code, run.stderr).toBe(0)
      expectCover(docs(runs), namespaces.length - 1)
      const merged = await mergeLogs(runs)
      expect(merged.code).toBe(0)
      const doc = parseJsonDocument(merged.stdout) as Doc
      expect(counts(doc)).toEqual(counts(whole))
      const outcome = (r: Record<string, unknown>) => [r.target, r.status, r.version, r.applied]
      expect(doc.results.map(outcome)).toEqual(whole.results.map(outcome))
      const applied = await backend.query<{n: number}>(`SELECT count(*)::int AS n FROM (${names('s', 30).map((ns) => `SELECT 1 FROM ${ns}.fanout_schema_history`).join(' UNION ALL ')}) h`)
      expect(applied[0]!.n).toBe(30 * 5)
    } finally {
      await backend.close()
    }
  })

  it('a shard killed mid-run and started again finds its own namespaces, resumes them, and the merge is whole', async () => {
    const backend = await postgresBackend()
    const dir = await mkdtemp(join(tmpdir(), 'fanout-resume-'))
    try {
      await writeFile(join(dir, 'V1__t.sql'), 'CREATE TABLE t (id int);')
      await writeFile(join(dir, 'V2__slow.sql'), 'SELECT pg_sleep(0.4); ALTER TABLE t ADD COLUMN b int;')
      const tenants = names('r', 18)
      const resumeArgs = ['migrate', '--database', backend.url, '--dir', dir, '-n', tenants.join(','), '--create-namespaces', '--workers', '1', '--json']
      const mine = shardPositions(tenants, {index: 1, count: 3, by: 'hash'}).map((position) => tenants[position]!)
      const others = Promise.all([0, 2].map((index) => fanout(['migrate', '--shard', `${index}/3`, ...resumeArgs.slice(1)])))
      // Shard 1, killed once it has begun: SIGKILL, no report, as a pod whose node was lost mid-run.
      const victim = spawn(process.execPath, [BIN, 'migrate', '--shard', '1/3', ...resumeArgs.slice(1)], {stdio: 'ignore'})
      await until(async () => (await backend.query<{n: number}>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ANY($1)', [mine]))[0]!.n > 0)
      victim.kill('SIGKILL')
      const [first, third] = await others
      const again = await fanout(['migrate', '--shard', '1/3', ...resumeArgs.slice(1)])
      expect(again.code, again.stderr).toBe(0)
      const resumed = JSON.parse(again.stdout).results as {target: string; applied: string[]}[]
      expect(resumed.map((r) => r.target)).toEqual(mine)
      expect(resumed.some((r) => r.applied.length > 0)).toBe(true) // killed with work left: the rerun did it
      const merged = await fanout(['merge', '-', '--json'], {input: [first!.stdout, again.stdout, third!.stdout].join('')})
      expect(merged.code, merged.stderr).toBe(0)
      const doc = parseJsonDocument(merged.stdout) as Doc
      expect(doc.results.map((r) => [r.target, r.version])).toEqual(tenants.map((tenant) => [tenant, '2']))
      const rows = await backend.query<{n: number}>(`SELECT count(*)::int AS n FROM (${tenants.map((ns) => `SELECT 1 FROM ${ns}.fanout_schema_history`).join(' UNION ALL ')}) h`)
      expect(rows[0]!.n).toBe(36) // every migration once, whichever process applied it
    } finally {
      await backend.close()
    }
  }, 120_000)

  it('other migrations are another input: their shards do not merge', async () => {
    const backend = await postgresBackend()
    try {
      const [first] = await shards(args(backend.url), 2).then((runs) => runs.slice(0, 1))
      const dir = await mkdtemp(join(tmpdir(), 'fanout-other-migrations-'))
      await writeFile(join(dir, 'V1__other.sql'), 'CREATE TABLE other (id int);')
      const second = await fanout([...args(backend.url).map((arg) => (arg === 'fixtures/migrations' ? dir : arg)), '--shard', '1/2'])
      const merged = await fanout(['merge', '-'], {input: `${first!.stdout}${second.stdout}`})
      expect(merged.code).toBe(2)
      expect(merged.stderr).toMatch(/stdin:2 and stdin:1 are runs of different inputs/)
    } finally {
      await backend.close()
    }
  })
})
