import {createHash} from 'node:crypto'
import {unlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import type {Backend} from './backends.js'
import {migrateFixture} from './migrate-fixture.js'

/** What fanout keeps in and reads from history tables (its own, an earlier fanout's, Flyway's), on every database. */
export function historySuite(open: () => Promise<Backend>): void {
  const {db, migrationsOf, migrate, build} = migrateFixture(open)

  describe('repair accepts an applied migration whose file is gone (finding 7)', {timeout: 300_000}, () => {
    it('migrate says "accept it with fanout migrate repair"; repair does; migrate then goes on', async () => {
      const dir = await migrationsOf({'V1__a.sql': 'CREATE TABLE a (id int);\n', 'V2__b.sql': 'CREATE TABLE b (id int);\n', 'V3__c.sql': 'CREATE TABLE c (id int);\n'})
      const args = ['--dir', dir, '-n', 'gone_001']
      expect((await migrate([...args, '--create-namespaces'])).code).toBe(0)
      await unlink(join(dir, 'V3__c.sql'))
      await writeFile(join(dir, 'V4__d.sql'), 'CREATE TABLE d (id int);\n')
      const blocked = await migrate([...args])
      expect(blocked.code).toBe(1)
      expect(blocked.lines[0]!.error!.message).toMatch(/V3 \(V3__c\.sql\) is applied but has no file in --dir; restore the file, or accept it with fanout migrate repair/)
      const repair = await migrate(['repair', ...args])
      expect(repair.code).toBe(0)
      expect((repair.lines[0] as {repairs?: string[]}).repairs).toEqual(['marked V3 (V3__c.sql) as deleted: its file is gone, migrate goes on without it'])
      expect((await migrate(['validate', ...args])).code).toBe(0)
      const after = await migrate([...args])
      expect(after.code).toBe(0)
      expect(after.lines[0]).toMatchObject({version: '4', applied: ['4']})
      expect(await db().query(`SELECT version, type FROM gone_001.fanout_schema_history ORDER BY installed_rank`)).toEqual([
        {version: '1', type: 'SQL'},
        {version: '2', type: 'SQL'},
        {version: '3', type: 'SQL'},
        {version: '3', type: 'DELETE'},
        {version: '4', type: 'SQL'},
      ])
    })
  })

  describe('repeatable migrations (R__)', {timeout: 300_000}, () => {
    it('apply after the versioned ones, again whenever their file changes (not drift), recorded with a null version', async () => {
      const dir = await migrationsOf({
        'V1__accounts.sql': 'CREATE TABLE accounts (id int, email text, active boolean NOT NULL DEFAULT true);\n',
        'R__views.sql': 'CREATE OR REPLACE VIEW active_accounts AS SELECT id, email FROM accounts WHERE active;\n',
      })
      const args = ['--dir', dir, '-n', 'rep_001']
      const first = await migrate([...args, '--create-namespaces'])
      expect(first.code).toBe(0)
      expect(first.lines[0]).toMatchObject({version: '1', applied: ['1', 'R__views.sql']})
      expect((await migrate(args)).lines[0]!.applied).toEqual([])

      await writeFile(join(dir, 'V2__names.sql'), 'ALTER TABLE accounts ADD COLUMN name text;\n')
      await writeFile(join(dir, 'R__views.sql'), 'CREATE OR REPLACE VIEW active_accounts AS SELECT id, email, name FROM accounts WHERE active;\n')
      expect((await migrate(['validate', '--dir', dir, '-n', 'rep_001'])).code).toBe(0)
      const second = await migrate(args)
      expect(second.code).toBe(0)
      expect(second.lines[0]).toMatchObject({version: '2', applied: ['2', 'R__views.sql']})
      expect(await db().query(`SELECT version, script, type, success FROM rep_001.fanout_schema_history ORDER BY installed_rank`)).toEqual([
        {version: '1', script: 'V1__accounts.sql', type: 'SQL', success: true},
        {version: null, script: 'R__views.sql', type: 'SQL', success: true},
        {version: '2', script: 'V2__names.sql', type: 'SQL', success: true},
        {version: null, script: 'R__views.sql', type: 'SQL', success: true},
      ])
      const [view] = await db().query(`SELECT count(*)::int AS columns FROM information_schema.columns WHERE table_schema = 'rep_001' AND table_name = 'active_accounts'`)
      expect(view).toEqual({columns: 3})
    })
  })

  describe('baseline a schema built before fanout', {timeout: 300_000}, () => {
    const files = {
      'V1__accounts.sql': 'CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL);\n',
      'V2__invoices.sql': 'CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts (id));\n',
      'V3__status.sql': "ALTER TABLE invoices ADD COLUMN status text NOT NULL DEFAULT 'open';\n",
    }
    const built = (namespace: string) =>
      build(`CREATE SCHEMA ${namespace}; CREATE TABLE ${namespace}.accounts (id bigserial PRIMARY KEY, email text NOT NULL); CREATE TABLE ${namespace}.invoices (id bigserial PRIMARY KEY, account_id bigint REFERENCES ${namespace}.accounts (id));`)
    const hasStatus = async (namespace: string) =>
      (await db().query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'invoices' AND column_name = 'status'`, [namespace])).length === 1

    it('fanout migrate baseline --version 2: later migrations apply, earlier ones never', async () => {
      const dir = await migrationsOf(files)
      await built('legacy_001')
      const baseline = await migrate(['baseline', '--dir', dir, '-n', 'legacy_001', '--version', '2'])
      expect(baseline.code, baseline.stderr).toBe(0)
      expect(baseline.lines[0]).toMatchObject({status: 'succeeded', version: '2', baselined: true})
      const again = await migrate(['baseline', '--dir', dir, '-n', 'legacy_001', '--version', '2'])
      expect(again.lines[0]).toMatchObject({status: 'succeeded', baselined: false})
      const status = await migrate(['status', '--dir', dir, '-n', 'legacy_001'])
      expect(status.lines[0]).toMatchObject({version: '2', pending: ['3']})
      const result = await migrate(['--dir', dir, '-n', 'legacy_001'])
      expect(result.code, result.stdout).toBe(0)
      expect(result.lines[0]).toMatchObject({version: '3', applied: ['3']})
      expect(await hasStatus('legacy_001')).toBe(true)
      const refused = await migrate(['baseline', '--dir', dir, '-n', 'legacy_001', '--version', '3'])
      expect(refused.code).toBe(1)
      expect(refused.lines[0]!.error!.message).toMatch(/legacy_001 has a history already \(2 rows\); baseline only a namespace no migration has run in/)
    })

    it('--baseline-on-migrate --baseline-version 2 baselines namespaces with objects and no history; empty ones migrate from the start', async () => {
      const dir = await migrationsOf(files)
      await built('legacy_002')
      const result = await migrate(['--dir', dir, '-n', 'legacy_002,fresh_001', '--create-namespaces', '--baseline-on-migrate', '--baseline-version', '2'])
      expect(result.code, result.stdout).toBe(0)
      expect(result.lines.map((line) => [line.target, line.applied])).toEqual([
        ['legacy_002', ['3']],
        ['fresh_001', ['1', '2', '3']],
      ])
      expect(await db().query(`SELECT version, type FROM legacy_002.fanout_schema_history ORDER BY installed_rank`)).toEqual([
        {version: '2', type: 'BASELINE'},
        {version: '3', type: 'SQL'},
      ])
    })

    it('--baseline-on-migrate: a schema holding only a function and an enum type has objects too, as Flyway sees it', async () => {
      const dir = await migrationsOf(files)
      await build(`CREATE SCHEMA legacy_003; CREATE TYPE legacy_003.mood AS ENUM ('ok'); CREATE FUNCTION legacy_003.ping() RETURNS int LANGUAGE sql AS 'SELECT 1';`)
      const result = await migrate(['--dir', dir, '-n', 'legacy_003', '--baseline-on-migrate', '--baseline-version', '3'])
      expect(result.code, result.stdout).toBe(0)
      expect(result.lines.map((line) => [line.target, line.applied])).toEqual([['legacy_003', []]])
      expect(await db().query(`SELECT version, type FROM legacy_003.fanout_schema_history`)).toEqual([{version: '3', type: 'BASELINE'}])
    })

    it('--baseline-version needs --baseline-on-migrate; a bad version is exit 2', async () => {
      const dir = await migrationsOf(files)
      expect((await migrate(['--dir', dir, '-n', 'x', '--baseline-version', '2'])).code).toBe(2)
      const bad = await migrate(['baseline', '--dir', dir, '-n', 'x', '--version', 'v2'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/--version expects a version like 3 or 1\.2; got "v2"/)
    })
  })

  describe("Flyway's own history table (--history-table flyway_schema_history)", {timeout: 300_000}, () => {
    // Checksums as Flyway computes them (CRC32 of the UTF-8 lines without line endings, BOM stripped, signed 32-bit),
    // worked out once with Python's zlib.crc32 for these exact texts.
    const V1 = 'CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL);\n'
    const V2 = '\uFEFFALTER TABLE accounts ADD COLUMN name text;\r\n-- café\r\n'
    const V3 = 'CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts (id));\n'
    const [V1_CRC, V2_CRC, V3_CRC] = [-942611902, -1587519205, -310041158]

    it('reads the rows Flyway wrote and continues the table in its layout, without re-applying anything', async () => {
      const dir = await migrationsOf({'V1__accounts.sql': V1, 'V2__names.sql': V2, 'V3__invoices.sql': V3})
      // The schema as Flyway left it: its tables, and its history table with its columns, key and index.
      await build(`CREATE SCHEMA fw_001;
        CREATE TABLE fw_001.accounts (id bigserial PRIMARY KEY, email text NOT NULL, name text);
        CREATE TABLE fw_001.flyway_schema_history (
          installed_rank integer NOT NULL, version varchar(50), description varchar(200) NOT NULL, type varchar(20) NOT NULL,
          script varchar(1000) NOT NULL, checksum integer, installed_by varchar(100) NOT NULL,
          installed_on timestamp NOT NULL DEFAULT now(), execution_time integer NOT NULL, success boolean NOT NULL);
        ALTER TABLE fw_001.flyway_schema_history ADD CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank);
        CREATE INDEX flyway_schema_history_s_idx ON fw_001.flyway_schema_history (success);
        INSERT INTO fw_001.flyway_schema_history VALUES
          (1, '1', 'accounts', 'SQL', 'V1__accounts.sql', ${V1_CRC}, 'flyway', now(), 12, true),
          (2, '2', 'names', 'SQL', 'V2__names.sql', ${V2_CRC}, 'flyway', now(), 7, true);`)
      const args = ['--dir', dir, '-n', 'fw_001', '--history-table', 'flyway_schema_history']
      expect((await migrate(['validate', ...args])).code).toBe(0)
      const result = await migrate([...args])
      expect(result.code, result.stdout + result.stderr).toBe(0)
      expect(result.lines[0]).toMatchObject({version: '3', applied: ['3']})
      const rows = await db().query(`SELECT installed_rank, version, description, type, script, checksum, installed_by, execution_time >= 0 AS timed, success FROM fw_001.flyway_schema_history ORDER BY installed_rank`)
      expect(rows[2]).toEqual({installed_rank: 3, version: '3', description: 'invoices', type: 'SQL', script: 'V3__invoices.sql', checksum: V3_CRC, installed_by: 'postgres', timed: true, success: true})
      // fanout's own table was never created there; an edited file is drift against Flyway's checksum.
      expect(await db().query(`SELECT to_regclass('fw_001.fanout_schema_history') AS own`)).toEqual([{own: null}])
      await writeFile(join(dir, 'V1__accounts.sql'), `${V1}-- edited\n`)
      const validate = await migrate(['validate', ...args])
      expect(validate.code).toBe(1)
      expect(validate.lines[0]!.drift).toEqual(['V1__accounts.sql changed after it was applied (checksum differs)'])
    })
  })

  describe('baseline migrations (B__)', {timeout: 300_000}, () => {
    it('a namespace with no history starts from the latest B__ file; one with history goes on with the versioned files', async () => {
      const dir = await migrationsOf({
        'V1__accounts.sql': 'CREATE TABLE accounts (id bigserial PRIMARY KEY);\n',
        'V2__invoices.sql': 'CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts (id));\n',
        'B2__schema.sql': 'CREATE TABLE accounts (id bigserial PRIMARY KEY);\nCREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts (id));\n',
        'V3__status.sql': "ALTER TABLE invoices ADD COLUMN status text NOT NULL DEFAULT 'open';\n",
      })
      expect((await migrate(['--dir', dir, '-n', 'bm_old', '--create-namespaces', '--target', '1'])).code).toBe(0)
      const result = await migrate(['--dir', dir, '-n', 'bm_new,bm_old', '--create-namespaces'])
      expect(result.code, result.stdout).toBe(0)
      expect(result.lines.map((line) => [line.target, line.version, line.applied])).toEqual([
        ['bm_new', '3', ['2', '3']],
        ['bm_old', '3', ['2', '3']],
      ])
      expect(await db().query(`SELECT version, type, script FROM bm_new.fanout_schema_history ORDER BY installed_rank`)).toEqual([
        {version: '2', type: 'SQL_BASELINE', script: 'B2__schema.sql'},
        {version: '3', type: 'SQL', script: 'V3__status.sql'},
      ])
      expect((await db().query(`SELECT type FROM bm_old.fanout_schema_history ORDER BY installed_rank`)).map((row) => row.type)).toEqual(['SQL', 'SQL', 'SQL'])
      expect((await migrate(['validate', '--dir', dir, '-n', 'bm_new,bm_old'])).code).toBe(0)
    })
  })

  describe('a history table an earlier fanout created', {timeout: 300_000}, () => {
    const files = {
      'V1__accounts.sql': 'CREATE TABLE accounts (id int);\n',
      'V2__invoices.sql': 'CREATE TABLE invoices (id int);\n',
      'V3__status.sql': 'ALTER TABLE invoices ADD COLUMN status text;\n',
      'R__views.sql': 'CREATE OR REPLACE VIEW open_invoices AS SELECT id FROM invoices WHERE status IS NULL;\n',
    }
    const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex')
    // The layouts earlier fanout versions created, as they wrote them: none has a type column, and version and
    // checksum are NOT NULL (the first kept a serial key and a unique version, the second keyed the table on
    // version, the third bounded its columns).
    const layouts: Record<string, string> = {
      old_serial: `installed_rank serial PRIMARY KEY, version text NOT NULL UNIQUE, description text NOT NULL, script text NOT NULL,
        checksum text NOT NULL, installed_by text NOT NULL DEFAULT current_user, installed_on timestamptz NOT NULL DEFAULT now(),
        execution_ms integer NOT NULL, success boolean NOT NULL`,
      old_keyed: `version text PRIMARY KEY, installed_rank integer NOT NULL, description text NOT NULL, script text NOT NULL,
        checksum text NOT NULL, installed_by text NOT NULL DEFAULT current_user, installed_on timestamptz NOT NULL DEFAULT now(),
        execution_ms integer NOT NULL, success boolean NOT NULL`,
      old_bounded: `version varchar(32) NOT NULL, installed_rank integer NOT NULL, description varchar(160) NOT NULL,
        script varchar(200) NOT NULL, checksum varchar(64) NOT NULL, installed_by name NOT NULL DEFAULT current_user,
        installed_on timestamptz NOT NULL DEFAULT now(), execution_ms integer NOT NULL, success boolean NOT NULL`,
    }
    const namespaces = Object.keys(layouts)
    const old = (namespace: string, layout: string, values: string) =>
      `CREATE SCHEMA ${namespace}; CREATE TABLE ${namespace}.accounts (id int); CREATE TABLE ${namespace}.invoices (id int);
       CREATE TABLE ${namespace}.fanout_schema_history (${layout});
       INSERT INTO ${namespace}.fanout_schema_history (installed_rank, version, description, script, checksum, installed_on, execution_ms, success) VALUES ${values};`
    const row = (rank: number, file: keyof typeof files, success = true) => {
      const [, version, description] = /^V(\d+)__(\w+)\.sql$/.exec(file)!
      return `(${rank}, '${version}', '${description}', '${file}', '${checksum(files[file])}', '2026-11-24 10:00:0${rank}+00', ${rank * 7}, ${success})`
    }
    /**
     * Each table's whole rows and which of type, version and checksum it has (nullable or not), in one query: each
     * read opens PGlite anew, seconds on a loaded machine.
     */
    const tables = async (names: string[]) =>
      Object.fromEntries(
        (
          await db().query<{namespace: string; columns: string; rows: Record<string, unknown>[]}>(
            names
              .map(
                (namespace) => `SELECT '${namespace}' AS namespace,
                  (SELECT string_agg(column_name || (CASE is_nullable WHEN 'YES' THEN ' null' ELSE '' END), ', ' ORDER BY column_name) FROM information_schema.columns
                    WHERE table_schema = '${namespace}' AND table_name = 'fanout_schema_history' AND column_name IN ('type', 'version', 'checksum')) AS columns,
                  (SELECT json_agg(to_jsonb(h) ORDER BY installed_rank) FROM ${namespace}.fanout_schema_history h) AS rows`,
              )
              .join(' UNION ALL '),
          )
        ).map(({namespace, ...table}) => [namespace, table]),
      )

    it('status and validate read it and change nothing; migrate upgrades it in place, keeping every row, and goes on from it', async () => {
      const dir = await migrationsOf(files)
      await build(Object.entries(layouts).map(([namespace, layout]) => old(namespace, layout, `${row(1, 'V1__accounts.sql')}, ${row(2, 'V2__invoices.sql')}`)).join('\n'))
      const before = await tables(namespaces)
      for (const namespace of namespaces) expect(before[namespace]).toMatchObject({columns: 'checksum, version', rows: [{version: '1'}, {version: '2'}]})
      const args = ['--dir', dir, '-n', namespaces.join(',')]
      const status = await migrate(['status', ...args])
      expect(status.code, status.stderr).toBe(0)
      expect(status.lines.map((line) => [line.target, line.version, line.pending])).toEqual(namespaces.map((namespace) => [namespace, '2', ['3', 'R__views.sql']]))
      expect((await migrate(['validate', ...args])).code).toBe(0)
      expect(await tables(namespaces)).toEqual(before) // read-only: not a column, not a row changed

      // PostgreSQL: two runs at once, which the namespace's lock lets upgrade each table once. A PGlite directory
      // is one process's (a second fanout on it is refused, tested in pglite.test.ts): one run.
      const runs = await Promise.all((db().name === 'postgres' ? [1, 2] : [1]).map(() => migrate([...args, '--workers', '3'])))
      for (const run of runs) expect(run.code, run.stdout + run.stderr).toBe(0)
      const applied = runs.flatMap((run) => run.lines).flatMap((line) => (line.applied ?? []).map((name) => `${line.target}:${name}`))
      expect(applied.sort()).toEqual(namespaces.flatMap((namespace) => [`${namespace}:3`, `${namespace}:R__views.sql`]).sort())
      const after = await tables(namespaces)
      for (const namespace of namespaces) {
        const {columns, rows} = after[namespace]!
        expect(columns).toBe('checksum null, type, version null')
        expect(rows.slice(0, 2)).toEqual(before[namespace]!.rows.map((kept) => ({...kept, type: 'SQL'})))
        expect(rows.slice(2)).toMatchObject([
          {version: '3', type: 'SQL', script: 'V3__status.sql', success: true},
          {version: null, type: 'SQL', script: 'R__views.sql', success: true},
        ])
      }
      const again = await migrate(['status', ...args])
      expect(again.lines.map((line) => [line.version, line.pending])).toEqual(namespaces.map(() => ['3', []]))
    })

    it('repair and baseline upgrade it too before they write', async () => {
      const dir = await migrationsOf(files)
      await build(`${old('old_repair', layouts.old_keyed!, `${row(1, 'V1__accounts.sql')}, ${row(2, 'V2__invoices.sql', false)}`)}
        CREATE SCHEMA old_empty; CREATE TABLE old_empty.accounts (id int); CREATE TABLE old_empty.fanout_schema_history (${layouts.old_bounded});`)
      const repair = await migrate(['repair', '--dir', dir, '-n', 'old_repair'])
      expect(repair.code, repair.stdout + repair.stderr).toBe(0)
      expect(repair.lines[0]!.repairs).toEqual(['removed the failed V2__invoices.sql'])
      const baseline = await migrate(['baseline', '--dir', dir, '-n', 'old_empty', '--version', '1'])
      expect(baseline.code, baseline.stdout + baseline.stderr).toBe(0)
      const after = await tables(['old_repair', 'old_empty'])
      expect(after.old_repair).toMatchObject({columns: 'checksum null, type, version null', rows: [{version: '1', type: 'SQL'}]})
      expect(after.old_empty).toMatchObject({columns: 'checksum null, type, version null', rows: [{version: '1', type: 'BASELINE', checksum: null}]})
    })
  })
}
