import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {names, pgliteBackend, postgresBackend} from './backends.js'
import type {Backend} from './backends.js'

const PASSWORD = 'hunter2-never-shown'

/** The URL with a password in it (trust auth ignores it): no report, line or error may show it. */
function withPassword(url: string): string {
  const parsed = new URL(url)
  parsed.password = PASSWORD
  return parsed.toString()
}

/** The name a report gives a database: the last part of its URL's path. */
function labelOf(url: string): string {
  return new URL(url).pathname.slice(1)
}

interface Line {
  target: string
  database: string
  namespace?: string
  status: string
  version?: string | null
  pending?: string[]
  applied?: string[]
  error?: {code: string; message: string}
}

interface Report {
  results: Line[]
  databases: {database: string; url: string; total: number; succeeded: number; failed: number; cancelled: number; error?: {code: string}}[]
  shard: {index: number; count: number; positions?: number[]}
  summary: {total: number}
}

// Each CLI start took 4-5 s on a machine shared by eight sessions (load 20 on 2 cores).
describe('fanout migrate across databases', {timeout: 240_000}, () => {
  let a: Backend
  let b: Backend
  let lite: Backend
  let missing: string
  const dirs: string[] = []
  beforeAll(async () => {
    ;[a, b, lite] = await Promise.all([postgresBackend(), postgresBackend(), pgliteBackend()])
    // A database the server does not have (3D000): it cannot be reached, the others go on.
    const url = new URL(a.url)
    url.pathname = `/${labelOf(a.url)}_nowhere`
    missing = url.toString()
  }, 120_000)
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), lite?.close(), ...dirs.map((dir) => rm(dir, {recursive: true, force: true}))])
    // Dropping databases of thousands of files took over 30 s here under load.
  }, 120_000)
  const fleet = () => [withPassword(a.url), withPassword(b.url), withPassword(missing), lite.url]
  const databaseFlags = (urls: string[]) => urls.flatMap((url) => ['--database', url])
  const expectNoPassword = (run: {stdout: string; stderr: string}) => {
    expect(run.stdout).not.toContain(PASSWORD)
    expect(run.stderr).not.toContain(PASSWORD)
  }
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-databases-'))
    dirs.push(dir)
    return dir
  }

  it('migrates three databases of the server and a PGlite one: one missing fails its namespaces (exit 1), the others are migrated under --keep-going', async () => {
    const namespaces = names('m', 3)
    const run = await fanout(['migrate', '--dir', 'fixtures/migrations', ...databaseFlags(fleet()), '-n', namespaces.join(','), '--create-namespaces', '--keep-going', '--json'])
    expect(run.code, run.stderr).toBe(1)
    expectNoPassword(run)
    const report = parseJsonDocument<Report>(run.stdout)
    const labels = [labelOf(a.url), labelOf(b.url), labelOf(missing), lite.url.split('/').at(-1)!]
    // Database by database in the order given, each namespace in the order selected.
    expect(report.results.map((line) => line.target)).toEqual(labels.flatMap((label) => namespaces.map((namespace) => `${label}/${namespace}`)))
    for (const line of report.results) {
      expect(line.namespace).toBe(line.target.split('/').at(-1))
      if (line.database === labelOf(missing)) {
        expect(line).toMatchObject({status: 'failed', error: {code: '3D000', message: expect.stringContaining('does not exist')}})
      } else {
        expect(line, line.target).toMatchObject({status: 'succeeded', version: '5', applied: ['1', '2', '3', '4', '5']})
      }
    }
    expect(report.databases.map(({database, total, succeeded, failed}) => ({database, total, succeeded, failed}))).toEqual(
      labels.map((database) => ({database, total: 3, succeeded: database === labelOf(missing) ? 0 : 3, failed: database === labelOf(missing) ? 3 : 0})),
    )
    expect(report.databases[0]!.url).toBe(a.url.replace('postgres@', 'postgres:***@'))
    expect(report.databases[2]!.error).toMatchObject({code: '3D000'})
    // The migrations reached each database of the server, not one of them three times.
    for (const backend of [a, b]) {
      const owners = await backend.query<{owners: number}>(namespaces.map((namespace) => `SELECT count(*)::int AS owners FROM ${namespace}.accounts`).join(' UNION ALL '))
      expect(owners.map((row) => row.owners)).toEqual([1, 1, 1])
    }
    expect(await lite.query('SELECT version FROM m_003.fanout_schema_history WHERE version = $1', ['5'])).toHaveLength(1)

    // status and validate summarise each database first, in the table and in --json.
    const status = await fanout(['migrate', 'status', '--dir', 'fixtures/migrations', ...databaseFlags(fleet()), '-n', namespaces.join(','), '--json'])
    expect(status.code).toBe(1)
    expectNoPassword(status)
    const statusReport = parseJsonDocument<Report>(status.stdout)
    expect(statusReport.databases.map(({database, succeeded, failed}) => [database, succeeded, failed])).toEqual(labels.map((label) => [label, label === labelOf(missing) ? 0 : 3, label === labelOf(missing) ? 3 : 0]))
    expect(statusReport.results.filter((line) => line.status === 'succeeded').every((line) => line.version === '5' && line.pending!.length === 0)).toBe(true)
    const table = await fanout(['migrate', 'validate', '--dir', 'fixtures/migrations', ...databaseFlags([withPassword(a.url), withPassword(b.url), lite.url])])
    expect(table.code, table.stderr).toBe(0)
    expectNoPassword(table)
    const lines = table.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^database\s+url\s+namespaces\s+succeeded\s+failed\s+cancelled/)
    expect(lines[1]).toMatch(new RegExp(`^${labelOf(a.url)}\\s+postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/${labelOf(a.url)}\\s+3\\s+3\\s+0\\s+0`))
    expect(lines.at(-1)).toBe('validate: 9 namespaces, no drift')

    // Fail-fast (the default): the missing database is a failure like any other, exit 1, never a crash (2 or 3).
    const failFast = await fanout(['migrate', '--dir', 'fixtures/migrations', ...databaseFlags(fleet()), '-n', namespaces.join(','), '--json'])
    expect(failFast.code, failFast.stderr).toBe(1)
    const stopped = parseJsonDocument<Report>(failFast.stdout)
    expect(stopped.results.filter((line) => line.database === labelOf(missing)).some((line) => line.status === 'failed')).toBe(true)
  })

  it('--databases-file - reads the URLs from stdin; an unreachable port fails its namespaces, its password masked', async () => {
    const closed = 'postgres://postgres:' + PASSWORD + '@127.0.0.1:1/fanout_closed'
    const input = ['# the fleet', withPassword(a.url), '', closed, withPassword(b.url), withPassword(a.url) + '  '].join('\n')
    const namespaces = names('f', 2)
    const run = await fanout(['migrate', '--dir', 'fixtures/migrations', '--databases-file', '-', '-n', namespaces.join(','), '--create-namespaces', '--keep-going', '--json'], {input})
    expect(run.code, run.stderr).toBe(1)
    expectNoPassword(run)
    const report = parseJsonDocument<Report>(run.stdout)
    // The same database twice (the last line) is one database.
    expect(report.databases.map((database) => [database.database, database.succeeded, database.failed])).toEqual([
      [labelOf(a.url), 2, 0],
      ['fanout_closed', 0, 2],
      [labelOf(b.url), 2, 0],
    ])
    expect(report.databases[1]).toMatchObject({url: 'postgres://postgres:***@127.0.0.1:1/fanout_closed', error: {code: 'ECONNREFUSED'}})
    expect(report.results.find((line) => line.target === 'fanout_closed/f_001')!.error!.message).toContain('postgres://postgres:***@127.0.0.1:1/fanout_closed')

    // One database from FANOUT_DATABASE (oclif hands a repeatable flag's variable over as one string): as before, plain names.
    const single = await fanout(['migrate', 'status', '--dir', 'fixtures/migrations', '-n', 'f_001', '--json'], {env: {FANOUT_DATABASE: withPassword(b.url)}})
    expect(single.code, single.stderr).toBe(0)
    const alone = parseJsonDocument<Report>(single.stdout)
    expect(alone.results.map((line) => [line.target, line.database, line.version])).toEqual([['f_001', undefined, '5']])
    expect(alone.databases).toBeUndefined()

    // A line that is no database URL is bad input (exit 2), named by its line.
    const bad = await fanout(['migrate', 'status', '--dir', 'fixtures/migrations', '--databases-file', '-', '-n', 'x'], {input: `${withPassword(a.url)}\nmysql://root:${PASSWORD}@db/app\n`})
    expect(bad.code).toBe(2)
    expectNoPassword(bad)
    expect(bad.stderr).toMatch(/stdin:2: expects postgres:\/\/user@host:port\/db, pglite:\/\/PATH or pglite:\/\/memory; got "mysql:\/\/root:\*\*\*@db\/app"/)
  })

  it('--waves counts over all databases: the canary is one namespace of the first database, and its failure halts the rest', async () => {
    const run = await fanout(['migrate', '--dir', 'fixtures/migrations', ...databaseFlags([withPassword(missing), a.url, b.url]), '-n', names('c', 3).join(','), '--create-namespaces', '--waves', '1,2', '--json'])
    expect(run.code, run.stderr).toBe(1)
    const report = parseJsonDocument<Report>(run.stdout)
    const started = report.results.filter((line) => line.status !== 'cancelled')
    expect(started.map((line) => [line.target, line.status])).toEqual([[`${labelOf(missing)}/c_001`, 'failed']])
    expect(report.summary).toMatchObject({total: 9, failed: 1, cancelled: 8})
    expect(await a.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'c\\_%'")).toEqual([])
  })

  it('--workers-per-database bounds the sessions migrating in each database, --workers those in all', async () => {
    // Each namespace's migration counts, as its first statement, the sessions of its database running this file.
    const dir = await tempDir()
    await writeFile(
      join(dir, 'V1__probe.sql'),
      [
        "INSERT INTO public.seen (sessions) SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE '%fanout_probe_8e1%';",
        'SELECT pg_sleep(0.4);',
        'CREATE TABLE probed (id int);',
      ].join('\n'),
    )
    for (const backend of [a, b]) await backend.query('CREATE TABLE IF NOT EXISTS public.seen (sessions int)')
    const seen = async (backend: Backend) => (await backend.query<{most: number}>('SELECT coalesce(max(sessions), 0)::int AS most FROM public.seen'))[0]!.most
    const run = async (prefix: string, bounds: string[]) => {
      for (const backend of [a, b]) await backend.query('TRUNCATE public.seen')
      const result = await fanout(['migrate', '--dir', dir, ...databaseFlags([a.url, b.url]), '-n', names(prefix, 8).join(','), '--create-namespaces', '--json', ...bounds])
      expect(result.code, result.stderr).toBe(0)
      return [await seen(a), await seen(b)]
    }
    const bounded = await run('w', ['--workers', '6', '--workers-per-database', '2'])
    for (const most of bounded) {
      expect(most).toBeGreaterThanOrEqual(1)
      expect(most).toBeLessThanOrEqual(2)
    }
    // Without the bound the same run goes wider in a database: the probe sees more than 2 somewhere.
    const unbounded = await run('u', ['--workers', '8'])
    expect(Math.max(...unbounded)).toBeGreaterThan(2)
    expect(Math.max(...unbounded)).toBeLessThanOrEqual(8)
  })

  it('--shard over several databases covers each database/namespace exactly once, and the merge is the unsharded run', async () => {
    const args = ['migrate', '--dir', 'fixtures/migrations', ...databaseFlags([withPassword(a.url), withPassword(missing), withPassword(b.url)]), '-n', names('s', 7).join(','), '--dry-run', '--keep-going', '--json']
    const whole = await fanout(args)
    expect(whole.code).toBe(1)
    const unsharded = parseJsonDocument<Report>(whole.stdout)
    expect(unsharded.results).toHaveLength(21)
    const dir = await tempDir()
    const files: string[] = []
    const seen: string[] = []
    for (let index = 0; index < 3; index++) {
      const shard = await fanout([...args, '--shard', `${index}/3`])
      expect([0, 1]).toContain(shard.code)
      expectNoPassword(shard)
      const report = parseJsonDocument<Report>(shard.stdout)
      expect(report.shard).toMatchObject({index, count: 3})
      // Every shard lists every database, with its own figures.
      expect(report.databases).toHaveLength(3)
      seen.push(...report.results.map((line) => line.target))
      const file = join(dir, `shard-${index}.json`)
      await writeFile(file, shard.stdout)
      files.push(file)
    }
    expect(seen.toSorted()).toEqual(unsharded.results.map((line) => line.target).toSorted())
    const merge = await fanout(['merge', ...files, '--json'])
    expect(merge.code, merge.stderr).toBe(whole.code)
    const merged = parseJsonDocument<Report>(merge.stdout)
    const outcome = (line: Line) => ({target: line.target, database: line.database, namespace: line.namespace, status: line.status, pending: line.pending, code: line.error?.code})
    expect(merged.results.map(outcome)).toEqual(unsharded.results.map(outcome))
    expect(merged.summary).toMatchObject({...unsharded.summary, durationMs: expect.any(Number)})
    expect(merged.databases).toEqual(unsharded.databases)
    const text = await fanout(['merge', ...files])
    expect(text.stdout).toMatch(new RegExp(`\\n${labelOf(missing)}\\s+postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/${labelOf(missing)}\\s+7\\s+0\\s+7\\s+0`))
  })
})
