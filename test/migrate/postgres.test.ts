import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {names, postgresBackend} from './backends.js'
import type {Backend} from './backends.js'
import {migrateSuite, usageSuite} from './suite.js'

describe('fanout migrate on PostgreSQL', () => {
  migrateSuite(postgresBackend)
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
      expect(failing.error).toMatchObject({code: '22012', message: expect.stringMatching(/^V1__t\.sql: division by zero \(SQLSTATE 22012\)/)})
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
