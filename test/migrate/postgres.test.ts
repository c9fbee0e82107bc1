import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
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
      const applied = runs.flatMap((run) => JSON.parse(run.stdout).results).reduce((sum: number, line: {applied: string[]}) => sum + line.applied.length, 0)
      expect(applied).toBe(300)
      const owners = await backend.query<{owners: number}>(namespaces.map((namespace) => `SELECT count(*)::int AS owners FROM ${namespace}.accounts`).join(' UNION ALL '))
      expect(owners.every((row) => row.owners === 1)).toBe(true)
    } finally {
      await backend.close()
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
