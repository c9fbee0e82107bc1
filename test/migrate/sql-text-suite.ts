import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import type {Backend} from './backends.js'

interface Report {
  ok: boolean
  summary: {total: number; succeeded: number; failed: number}
  results: {target: string; status: string; version?: string | null; applied?: string[]; error?: {code: string; message: string}}[]
}

/** What fanout does with the SQL text of migrations (splitting, placeholders, transactions), on every database. */
export function sqlTextSuite(open: () => Promise<Backend>): void {
  let backend: Backend
  let dir: string
  beforeAll(async () => {
    backend = await open()
  })
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fanout-sqltext-'))
  })
  afterEach(() => rm(dir, {recursive: true, force: true}))
  afterAll(() => backend?.close())

  const migrate = async (args: string[]) => {
    const result = await fanout(['migrate', '--database', backend.url, '--json', ...args])
    return {...result, report: JSON.parse(result.stdout || 'null') as Report}
  }
  const schemas = async (like: string) =>
    (await backend.query<{nspname: string}>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1', [like])).map((row) => row.nspname)

  it('finding 1: a namespace name cannot change what SQL runs; Tenant-A works (the name is quoted where a name goes, escaped in a literal)', async () => {
    for (const sql of ['CREATE SCHEMA victim', 'CREATE TABLE victim.keep (id int)', 'INSERT INTO victim.keep VALUES (1)']) await backend.query(sql)
    const file = join(dir, 'tenants.txt')
    await writeFile(file, "evil'); drop table victim.keep; --\nTenant-A\ninj_1\n")
    const result = await migrate(['--dir', 'fixtures/migrations', '--namespaces-file', file, '--create-namespaces'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(await backend.query('SELECT id FROM victim.keep')).toEqual([{id: 1}])
    const owners = await backend.query<{email: string}>(
      `SELECT email FROM "evil'); drop table victim.keep; --".accounts UNION ALL SELECT email FROM "Tenant-A".accounts UNION ALL SELECT email FROM inj_1.accounts`,
    )
    expect(owners.map((row) => row.email)).toEqual(["owner@evil'); drop table victim.keep; --.example", 'owner@Tenant-A.example', 'owner@inj_1.example'])
  })

  it('a namespace name PostgreSQL cannot keep is exit 2 naming its line, before anything runs', async () => {
    const file = join(dir, 'tenants.txt')
    await writeFile(file, `ok_1\n# a comment\n${'x'.repeat(64)}\n`)
    const result = await fanout(['migrate', '--database', backend.url, '--dir', 'fixtures/migrations', '--namespaces-file', file, '--create-namespaces'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(`fanout migrate: ${file}:3: namespace "${'x'.repeat(64)}" is 64 bytes, over PostgreSQL's 63 for a name; shorten it`)
    expect(await schemas('ok\\_1')).toEqual([])
  })

  it('a real-world-shaped set runs unchanged: subfolders, placeholders, DO $$ … EXCEPTION, nested $$ in plpgsql, a trigger, a materialized view, six CONCURRENTLY statements, COPY FROM stdin', async () => {
    const args = ['--dir', 'fixtures/migrations-realworld', '-n', 'rw_1,Rw-Two', '--create-namespaces', '--placeholder', 'plan=gold', '--workers', '2']
    const first = await migrate(args)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    const all = ['1', '2', '3', '4', '5', '6', 'views/R__open_orders.sql']
    expect(first.report.results.map((line) => line.applied)).toEqual([all, all])
    expect(await backend.query('SELECT email, status FROM "Rw-Two".open_orders')).toEqual([])
    // COPY … FROM stdin data (pg-copy-streams on PostgreSQL, a Blob on PGlite), the namespace escaped for COPY's text format.
    expect(await backend.query('SELECT code, title, seats FROM "Rw-Two".plans ORDER BY code')).toEqual([
      {code: 'basic', title: 'Basic; for Rw-Two', seats: 5},
      {code: 'gold', title: "Gold 'plus'", seats: 50},
    ])
    const [customer] = await backend.query('SELECT email, plan, note FROM "Rw-Two".customers')
    expect(customer).toEqual({email: 'first@Rw-Two.example', plan: 'gold', note: 'tenant Rw-Two; \\ escaped'})
    const indexes = await backend.query<{indexname: string}>(`SELECT indexname FROM pg_indexes WHERE schemaname = 'rw_1' AND indexname LIKE '%\\_%' AND indexname NOT LIKE '%pkey' ORDER BY 1`)
    expect(indexes.map((row) => row.indexname)).toEqual(['customers_email', 'order_counts_key', 'orders_customer_status'])
    await backend.query(`INSERT INTO rw_1.orders (customer_id, status) VALUES (1, 'shipped')`)
    await expect(backend.query(`UPDATE rw_1.orders SET status = 'cancelled'`)).rejects.toThrow(/is shipped; it cannot be cancelled/)
    const again = await migrate(args)
    expect(again.code).toBe(0)
    expect(again.report.results.map((line) => line.applied)).toEqual([[], []])
  })

  it('finding 3: a transactional migration holding COMMIT (or COMMIT; BEGIN;) is exit 2 naming file:line, and nothing runs', async () => {
    await writeFile(join(dir, 'V1__ok.sql'), 'CREATE TABLE ok (id int);\n')
    await writeFile(join(dir, 'V2__half.sql'), 'CREATE TABLE part1 (id int);\nCOMMIT;\nCREATE TABLE part2 (id int);\nSELECT 1/0;\n')
    const half = await fanout(['migrate', '--database', backend.url, '--dir', dir, '-n', 'tc_1', '--create-namespaces'])
    expect(half.code).toBe(2)
    expect(half.stderr.trim()).toMatch(new RegExp(`^fanout migrate: ${join(dir, 'V2__half.sql')}:2: COMMIT in a migration that runs in a transaction`))
    await writeFile(join(dir, 'V2__half.sql'), 'CREATE TABLE part1 (id int);\n\nCOMMIT; BEGIN;\nCREATE TABLE elsewhere (id int);\n')
    const moved = await fanout(['migrate', '--database', backend.url, '--dir', dir, '-n', 'tc_1', '--create-namespaces'])
    expect(moved.code).toBe(2)
    expect(moved.stderr).toContain('V2__half.sql:3: COMMIT in a migration')
    expect(await schemas('tc\\_1')).toEqual([])
  })

  it('an unknown ${…} is exit 2 naming file:line before anything runs; --placeholder overrides --config', async () => {
    await mkdir(join(dir, 'sub'))
    await writeFile(join(dir, 'sub', 'V1__t.sql'), "CREATE TABLE t (v text);\nINSERT INTO t VALUES ('${region}');\n")
    const unknown = await fanout(['migrate', '--database', backend.url, '--dir', dir, '-n', 'ph_1', '--create-namespaces'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.trim()).toMatch(/sub\/V1__t\.sql:2: unknown placeholder \$\{region\}; give it with --placeholder region=VALUE/)
    expect(await schemas('ph\\_1')).toEqual([])
    await writeFile(join(dir, 'fanout.yaml'), 'placeholders:\n  region: eu-west\n')
    const given = await migrate(['--dir', dir, '--config', join(dir, 'fanout.yaml'), '--placeholder', "region=o'hare", '-n', 'ph_1', '--create-namespaces'])
    expect(given.code).toBe(0)
    expect(await backend.query('SELECT v FROM ph_1.t')).toEqual([{v: "o'hare"}])
  })

  it('a placeholder value of several lines moves no reported line: errors name the line of the file, as sent whole or statement by statement', async () => {
    const banner = 'Acme Corp\nall rights reserved\nline three of the value'
    await writeFile(join(dir, 'V1__notes.sql'), "CREATE TABLE notes (body text);\nINSERT INTO notes VALUES ('${banner}');\n\nSELECT 1 / 0;\n")
    const args = ['--dir', dir, '-n', 'nl_1', '--create-namespaces', '--placeholder', `banner=${banner}`]
    const whole = await migrate(args)
    expect(whole.code).toBe(1)
    expect(whole.report.results[0]!.error!.message).toMatch(/^V1__notes\.sql line 4: division by zero/)
    await writeFile(join(dir, 'V1__notes.sql'), "CREATE TABLE notes (body text);\nINSERT INTO notes VALUES ('${banner}');\n")
    await writeFile(join(dir, 'V2__check.sql'), "-- fanout:no-transaction\nSELECT '${banner}' AS banner;\n\nSELECT body, no_such_column FROM notes;\n")
    const oneByOne = await migrate(args)
    expect(oneByOne.code).toBe(1)
    expect(oneByOne.report.results[0]).toMatchObject({version: '1', error: {code: '42703', message: expect.stringMatching(/^V2__check\.sql line 4: column "no_such_column" does not exist/)}})
    expect(await backend.query('SELECT body FROM nl_1.notes')).toEqual([{body: banner}])
  })

  it('COPY … FROM stdin: bad data fails the migration at the COPY\'s line and rolls it back; --transaction namespace takes it too', async () => {
    await writeFile(join(dir, 'V1__t.sql'), 'CREATE TABLE t (v int);\n\nCOPY t FROM stdin;\n1\nnot a number\n\\.\n')
    const bad = await migrate(['--dir', dir, '-n', 'cp_1', '--create-namespaces'])
    expect(bad.code).toBe(1)
    expect(bad.report.results[0]!.error!.message).toMatch(/^V1__t\.sql line 3: invalid input syntax for type integer: "not a number"/)
    expect(await backend.query("SELECT to_regclass('cp_1.t') AS t")).toEqual([{t: null}])
    await writeFile(join(dir, 'V1__t.sql'), 'CREATE TABLE t (v int);\n\nCOPY t FROM stdin;\n1\n2\n\\.\n')
    await writeFile(join(dir, 'V2__u.sql'), 'COPY t FROM stdin;\n3\n\\.\n')
    expect((await migrate(['--dir', dir, '-n', 'cp_1', '--create-namespaces', '--transaction', 'namespace'])).code).toBe(0)
    expect(await backend.query('SELECT v FROM cp_1.t ORDER BY v')).toEqual([{v: 1}, {v: 2}, {v: 3}])
  })

  it('a failing statement of a file run statement by statement is named by file and line', async () => {
    await writeFile(join(dir, 'V1__t.sql'), 'CREATE TABLE t (v int);\nINSERT INTO t VALUES (1), (1);\n')
    await writeFile(join(dir, 'V2__idx.sql'), 'CREATE INDEX CONCURRENTLY t_a ON t (v);\n\nCREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);\n')
    const result = await migrate(['--dir', dir, '-n', 'ln_1', '--create-namespaces'])
    expect(result.code).toBe(1)
    expect(result.report.results[0]!.error!.message).toMatch(/^V2__idx\.sql line 3: could not create unique index "t_v"/)
  })

  it('a run-time error names its statement\'s line; cannot-run-in-a-transaction and a missing extension function say what to do', async () => {
    await writeFile(join(dir, 'V1__t.sql'), 'CREATE TABLE t (v int);\n\nINSERT INTO t VALUES (1);\nSELECT 1/0;\n')
    const zero = await migrate(['--dir', dir, '-n', 'rt_1', '--create-namespaces'])
    expect(zero.code).toBe(1)
    expect(zero.report.results[0]!.error!.message).toMatch(/^V1__t\.sql line 4: division by zero/)
    await writeFile(join(dir, 'V1__t.sql'), "CREATE TABLE t (v int);\nDO $$ BEGIN EXECUTE 'CREATE INDEX CONCURRENTLY t_v ON t (v)'; END $$;\n")
    const inside = await migrate(['--dir', dir, '-n', 'rt_1', '--create-namespaces'])
    expect(inside.report.results[0]!.error!.message).toMatch(/CREATE INDEX CONCURRENTLY cannot .*25001.*fanout runs a file outside a transaction by itself when it holds CREATE\/DROP INDEX CONCURRENTLY.*make "-- fanout:no-transaction" the file's first line/)
    await writeFile(join(dir, 'V1__t.sql'), 'CREATE TABLE t (id uuid DEFAULT uuid_generate_v4());\n')
    const missing = await migrate(['--dir', dir, '-n', 'rt_1', '--create-namespaces'])
    expect(missing.report.results[0]!.error!.message).toMatch(/function uuid_generate_v4\(\) does not exist.*42883.*create the extension once in a shared schema every namespace sees/)
  })

  it('placeholder and transaction flags that cannot work are exit 2 with one line', async () => {
    const line = async (args: string[]) => {
      const result = await fanout(['migrate', '--database', backend.url, '--dir', 'fixtures/migrations-realworld', '-n', 'fl_1', ...args])
      expect(result.code).toBe(2)
      return result.stderr.trim()
    }
    expect(await line(['-p', 'plan'])).toBe('fanout migrate: --placeholder expects key=value (e.g. --placeholder plan=gold); got "plan"')
    expect(await line(['-p', 'namespace=x'])).toMatch(/--placeholder namespace=x: \$\{namespace\} is built in/)
    expect(await line(['-p', 'plan=gold', '--transaction', 'namespace'])).toMatch(/--transaction namespace cannot include V5__reindex_orders_concurrently\.sql \(CREATE INDEX CONCURRENTLY at line 2: it runs outside a transaction\)/)
    expect(await line(['--config', join(dir, 'missing.yaml')])).toMatch(/--config: cannot read ".*missing\.yaml" \(ENOENT\)/)
    await writeFile(join(dir, 'twice.yaml'), 'placeholders:\n  plan: gold\n  plan: silver\n')
    expect(await line(['--config', join(dir, 'twice.yaml')])).toMatch(/^fanout migrate: .*twice\.yaml:3: invalid YAML: duplicated mapping key$/)
  })
}
