import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import type {Backend} from './backends.js'
import {migrateFixture} from './migrate-fixture.js'

/**
 * What a run does on the database beyond applying files (a failed CIC's leftovers, read-only reads, the figures it
 * records), on PostgreSQL and PGlite alike. What only a server can show (other sessions ending ours, several
 * processes at once) is in postgres-runtime.test.ts.
 */
export function runtimeSuite(open: () => Promise<Backend>): void {
  const {db, migrationsOf, migrate} = migrateFixture(open)
  const history = (namespace: string) =>
    db().query<{version: string; success: boolean}>(`SELECT version, success FROM ${namespace}.fanout_schema_history ORDER BY installed_rank`)

  describe('a failed CREATE INDEX CONCURRENTLY (finding 2)', {timeout: 300_000}, () => {
    it('a failed CREATE INDEX CONCURRENTLY names the INVALID index it left; repair drops it and the re-run builds it', async () => {
      const dir = await migrationsOf({
        'V1__items.sql': 'CREATE TABLE items (sku text);\n',
        'V2__unique_sku.sql': '-- fanout:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_sku ON items (sku);\n',
      })
      expect((await migrate(['--dir', dir, '-n', 'inv_001', '--create-namespaces', '--target', '1'])).code).toBe(0)
      await db().query(`INSERT INTO inv_001.items VALUES ('a'), ('a')`)
      const failed = await migrate(['--dir', dir, '-n', 'inv_001'])
      expect(failed.code).toBe(1)
      expect(failed.lines[0]!.error!.message).toMatch(/^V2__unique_sku\.sql line 2: could not create unique index "items_sku".*it left the INVALID index items_sku, which fanout migrate repair drops/)
      await db().query(`DELETE FROM inv_001.items WHERE ctid = (SELECT max(ctid) FROM inv_001.items)`)
      const repair = await fanout(['migrate', 'repair', '--database', db().url, '--dir', dir, '-n', 'inv_001'])
      expect(repair.code).toBe(0)
      expect(repair.stdout).toContain('inv_001: dropped the INVALID index items_sku')
      expect((await migrate(['--dir', dir, '-n', 'inv_001'])).code).toBe(0)
      const [index] = await db().query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'inv_001.items_sku'::regclass`)
      expect(index).toEqual({valid: true})
    })
  })

  describe('read-only selection, status and validate (finding 4)', {timeout: 300_000}, () => {
    it('--namespaces-query cannot drop a schema, not even as a second statement', async () => {
      await db().exec('CREATE SCHEMA IF NOT EXISTS victim; CREATE TABLE IF NOT EXISTS victim.keep (id int)')
      const dir = await migrationsOf({'V1__t.sql': 'CREATE TABLE t (id int);\n'})
      for (const query of ['DROP SCHEMA victim CASCADE', "SELECT 'ro_001'; DROP SCHEMA victim CASCADE", 'WITH gone AS (DELETE FROM victim.keep RETURNING id) SELECT id::text FROM gone']) {
        const result = await fanout(['migrate', '--database', db().url, '--dir', dir, '--namespaces-query', query])
        expect(result.code, result.stderr).toBe(2)
        expect(result.stderr).toMatch(/--namespaces-query: .*(read-only transaction|multiple commands)/)
      }
      expect(await db().query(`SELECT to_regclass('victim.keep') IS NOT NULL AS kept`)).toEqual([{kept: true}])
    })

    it('status with a data-modifying CTE deletes no history row', async () => {
      const dir = await migrationsOf({'V1__t.sql': 'CREATE TABLE t (id int);\n'})
      expect((await migrate(['--dir', dir, '-n', 'ro_002', '--create-namespaces'])).code).toBe(0)
      const query = "WITH gone AS (DELETE FROM ro_002.fanout_schema_history RETURNING 'ro_002'::text AS name) SELECT name FROM gone"
      for (const command of ['status', 'validate']) {
        const result = await fanout(['migrate', command, '--database', db().url, '--dir', dir, '--namespaces-query', query])
        expect(result.code).toBe(2)
        expect(result.stderr).toMatch(/read-only transaction/)
      }
      expect(await history('ro_002')).toEqual([{version: '1', success: true}])
    })
  })

  describe('figures on record (finding 6)', {timeout: 300_000}, () => {
    it('migrations sent as one query: each history row has its own start and duration', async () => {
      const dir = await migrationsOf({
        'V1__a.sql': 'SELECT pg_sleep(0.4);\n',
        'V2__b.sql': 'SELECT pg_sleep(0.4);\n',
        'V3__c.sql': 'SELECT 1;\n',
      })
      expect((await migrate(['--dir', dir, '-n', 'fig_001', '--create-namespaces'])).code).toBe(0)
      const rows = await db().query<{version: string; ms: number; gap: number | null}>(
        `SELECT version, execution_ms AS ms, (extract(epoch FROM installed_on - lag(installed_on) OVER (ORDER BY installed_rank)) * 1000)::int AS gap
           FROM fig_001.fanout_schema_history ORDER BY installed_rank`,
      )
      expect(rows.map((row) => row.version)).toEqual(['1', '2', '3'])
      const [v1, v2, v3] = rows
      for (const slept of [v1!, v2!]) expect(slept.ms).toBeGreaterThanOrEqual(390)
      expect(v2!.ms).toBeLessThan(790) // not the time since the batch began
      expect(v3!.ms).toBeLessThan(200)
      expect(v2!.gap).toBeGreaterThanOrEqual(390)
      expect(v3!.gap).toBeGreaterThanOrEqual(390)
    })

    it('an error in V3 of a batch is reported against V3 and its line, not V1; V1 and V2 stay applied', async () => {
      const dir = await migrationsOf({
        'V1__a.sql': 'CREATE TABLE a (id int);\n',
        'V2__b.sql': 'CREATE TABLE b (id int);\n',
        'V3__c.sql': 'CREATE TABLE c (id int);\n\nSELECT no_such_column FROM c;\n',
      })
      const result = await migrate(['--dir', dir, '-n', 'fig_002', '--create-namespaces'])
      expect(result.code).toBe(1)
      expect(result.lines[0]).toMatchObject({status: 'failed', version: '2', applied: ['1', '2']})
      expect(result.lines[0]!.error!.message).toMatch(/^V3__c\.sql line 3: column "no_such_column" does not exist \(SQLSTATE 42703\)/)
      expect((await history('fig_002')).map((row) => row.version)).toEqual(['1', '2'])
    })
  })
}
