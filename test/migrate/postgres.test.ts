import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import pg from 'pg'
import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {names, postgresBackend} from './backends.js'
import type {Backend} from './backends.js'
import {sqlTextSuite} from './sql-text-suite.js'
import {migrateSuite, usageSuite} from './suite.js'

// A test of a dozen CLI runs: each start took 4-5 s on a machine shared by eight sessions (load 20 on 2 cores).
describe('fanout migrate on PostgreSQL', {timeout: 120_000}, () => {
  migrateSuite(postgresBackend)
  describe('SQL text', () => sqlTextSuite(postgresBackend))
})

describe('fanout migrate on PostgreSQL: two runs at once', () => {
  it('apply each migration exactly once', async () => {
    const backend: Backend = await postgresBackend()
    try {
      const namespaces = names('d', 60)
      const args = ['migrate', '--database', backend.url, '--dir', 'fixtures/migrations', '-n', namespaces.join(','), '--create-namespaces', '--workers', '4', '--json']
      const runs = await Promise.all([fanout(args), fanout(args)])
      for (const run of runs) expect(run.code, run.stderr).toBe(0)
      const applied = runs.flatMap((run) => parseJsonDocument(run.stdout).results).reduce((sum: number, line: {applied: string[]}) => sum + line.applied.length, 0)
      expect(applied).toBe(300)
      const owners = await backend.query<{owners: number}>(namespaces.map((namespace) => `SELECT count(*)::int AS owners FROM ${namespace}.accounts`).join(' UNION ALL '))
      expect(owners.every((row) => row.owners === 1)).toBe(true)
    } finally {
      await backend.close()
    }
  })
})

describe('fanout migrate on PostgreSQL: migrations sent as one query', () => {
  it('fail-fast: a namespace in flight finishes the migration it is in and runs none of the rest of its query', async () => {
    const backend: Backend = await postgresBackend()
    const migrations = await mkdtemp(join(tmpdir(), 'fanout-batch-'))
    try {
      // m_001 is inside V1 for 1.5 s when m_002 fails its V1.
      await writeFile(join(migrations, 'V1__t.sql'), [
        "SELECT pg_sleep(CASE WHEN '${namespace}' = 'm_001' THEN 1.5 ELSE 0.3 END);",
        "SELECT 1 / (CASE WHEN '${namespace}' = 'm_002' THEN 0 ELSE 1 END);",
        'CREATE TABLE t (id int);',
      ].join('\n'))
      await writeFile(join(migrations, 'V2__u.sql'), 'CREATE TABLE u (id int);\n')
      await writeFile(join(migrations, 'V3__v.sql'), 'CREATE TABLE v (id int);\n')
      const result = await fanout(['migrate', '--database', backend.url, '--dir', migrations, '-n', 'm_001,m_002,m_003', '--create-namespaces', '--workers', '2', '--json'])
      expect(result.code).toBe(1)
      const [slow, failing, queued] = parseJsonDocument(result.stdout).results
      expect(failing).toMatchObject({status: 'failed', version: null})
      expect(failing.error).toMatchObject({code: '22012', message: expect.stringMatching(/^V1__t\.sql line 2: division by zero \(SQLSTATE 22012\)/)})
      expect(slow).toMatchObject({status: 'cancelled', version: '1', applied: ['1'], error: {code: 'stopped', message: 'stopped before its next migration'}})
      expect(queued).toMatchObject({status: 'cancelled', attempts: 0})
      const [tables] = await backend.query<{t: boolean; u: boolean; history: string[]}>(
        `SELECT to_regclass('m_001.t') IS NOT NULL AS t, to_regclass('m_001.u') IS NOT NULL AS u, (SELECT array_agg(version) FROM m_001.fanout_schema_history) AS history`,
      )
      expect(tables).toEqual({t: true, u: false, history: ['1']})
    } finally {
      await backend.close()
      await rm(migrations, {recursive: true, force: true})
    }
  })
})

describe('fanout migrate: bad input', () => {
  usageSuite(() => process.env.FANOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')

  it('an unreachable database is exit 2, one line', async () => {
    const result = await fanout(['migrate', '--database', 'postgres://postgres@127.0.0.1:1/nowhere', '--dir', 'fixtures/migrations', '-n', 'x'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toMatch(/^fanout migrate: --database: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere \(ECONNREFUSED/)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('fanout migrate on PostgreSQL: overload signals for --workers auto', () => {
  it('a statement timeout (57014) and a lock timeout (55P03) are overload: the limit halves; a SQL error is not', async () => {
    const backend: Backend = await postgresBackend()
    const slow = await mkdtemp(join(tmpdir(), 'fanout-overload-'))
    const locked = await mkdtemp(join(tmpdir(), 'fanout-overload-'))
    const broken = await mkdtemp(join(tmpdir(), 'fanout-overload-'))
    try {
      await writeFile(join(slow, 'V1__slow.sql'), 'SELECT pg_sleep(2);\n')
      await writeFile(join(locked, 'V1__lock.sql'), "SET LOCAL lock_timeout = '50ms';\nLOCK TABLE public.busy IN ACCESS EXCLUSIVE MODE;\n")
      // A run-time SQL error (a syntax error is now refused by libpg-query before anything runs: exit 2).
      await writeFile(join(broken, 'V1__zero.sql'), 'SELECT 1 / 0;\n')
      const run = (dir: string, extra: string[] = []) =>
        fanout(['migrate', '--database', backend.url, '--dir', dir, '-n', names('o', 3).join(','), '--create-namespaces', '-w', 'auto:1-8', '--keep-going', '--json', ...extra])
      const limits = (stdout: string) => parseJsonDocument(stdout).workers.samples.map((sample: {limit: number}) => sample.limit)
      const timedOut = await run(slow, ['--timeout', '100ms'])
      expect(parseJsonDocument(timedOut.stdout).results[0].error).toMatchObject({code: '57014', message: expect.stringContaining('statement timeout')})
      expect(limits(timedOut.stdout)).toEqual([8, 4])
      // Another session holds the table: each namespace's LOCK waits 50 ms and gives up with 55P03.
      await backend.query('CREATE TABLE public.busy ()')
      const holder = new pg.Client(backend.url)
      await holder.connect()
      try {
        await holder.query('BEGIN; LOCK TABLE public.busy IN ACCESS EXCLUSIVE MODE')
        const waited = await run(locked)
        expect(parseJsonDocument(waited.stdout).results[0].error).toMatchObject({code: '55P03'})
        expect(limits(waited.stdout)).toEqual([8, 4])
      } finally {
        await holder.end()
      }
      const typo = await run(broken)
      expect(parseJsonDocument(typo.stdout).results[0].error).toMatchObject({code: '22012'})
      expect(limits(typo.stdout)).toEqual([8])
    } finally {
      await Promise.all([backend.close(), ...[slow, locked, broken].map((dir) => rm(dir, {recursive: true, force: true}))])
    }
  }, 120_000)

  it('too many connections (53300) is overload: the limit halves, and retries get through on the connections there are', async () => {
    const backend: Backend = await postgresBackend()
    const role = `fanout_few_${process.pid}`
    await backend.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 2`)
    const db = new URL(backend.url).pathname.slice(1)
    await backend.query(`GRANT ALL ON DATABASE ${db} TO ${role}`)
    try {
      const url = new URL(backend.url)
      url.username = role
      const run = await fanout(['migrate', '--database', url.toString(), '--dir', 'fixtures/migrations', '-n', names('c', 12).join(','), '--create-namespaces', '-w', 'auto:1-8', '--retries', '5', '--keep-going', '--json'])
      const report = parseJsonDocument(run.stdout)
      expect(report.summary, run.stderr).toMatchObject({succeeded: 12, failed: 0})
      expect(report.results.some((result: {attempts: number}) => result.attempts > 1)).toBe(true)
      expect(report.workers.samples[1].limit).toBe(4)
      expect(report.workers.final).toBeLessThanOrEqual(4)
    } finally {
      await backend.close()
      const admin = new pg.Client(process.env.FANOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
      await admin.connect()
      await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end())
    }
  }, 120_000)
})
