import {appendFile, readFile, rm, writeFile, mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, expect, it} from 'vitest'

import {fanout, until} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import type {CliOptions} from '../helpers/cli.js'
import type {Backend} from './backends.js'
import {migrationsCopy, names} from './backends.js'

export interface Line {
  target: string
  status: 'succeeded' | 'failed' | 'cancelled'
  attempts: number
  version?: string | null
  applied?: string[]
  pending?: string[]
  drift?: string[]
  error?: {code: string; message: string}
}

interface Report {
  command: string
  ok: boolean
  interrupted?: true
  summary: {total: number; succeeded: number; failed: number; cancelled: number}
  results: Line[]
}

const SUBCOMMANDS = new Set(['status', 'validate', 'repair'])

/** The migrate behaviour every database must show: the real PostgreSQL and PGlite run the same suite. */
export function migrateSuite(open: () => Promise<Backend>): void {
  let backend: Backend
  let dir: string
  beforeAll(async () => {
    backend = await open()
    dir = await migrationsCopy()
  })
  afterAll(async () => {
    await backend?.close()
    await rm(dir, {recursive: true, force: true})
  })

  const run = ([first = '', ...rest]: string[], options?: CliOptions) =>
    SUBCOMMANDS.has(first)
      ? fanout(['migrate', first, '--database', backend.url, ...rest], options)
      : fanout(['migrate', '--database', backend.url, first, ...rest], options)
  const migrate = async (args: string[], options?: CliOptions) => {
    const flags = [...(args.includes('--dir') ? [] : ['--dir', dir]), '--json']
    const result = await run(SUBCOMMANDS.has(args[0]!) ? [args[0]!, ...flags, ...args.slice(1)] : [...flags, ...args], options)
    return {...result, report: (result.stdout ? parseJsonDocument(result.stdout) : null) as Report}
  }
  const versions = async (namespaces: string[], migrations = dir) => {
    const {report} = await migrate(['status', '--dir', migrations, '-n', namespaces.join(',')])
    return Object.fromEntries(report.results.map((line) => [line.target, line.version ?? null]))
  }
  const applied = (report: Report) => report.results.reduce((sum, line) => sum + (line.applied?.length ?? 0), 0)
  const duplicateOwner = (namespace: string) => backend.query(`INSERT INTO ${namespace}.accounts (email) VALUES ('owner@${namespace}.example')`)
  /** Namespaces whose unique-email constraint (V4) exists. */
  const constrained = async (prefix: string) =>
    new Set(
      (
        await backend.query<{nspname: string}>(
          `SELECT n.nspname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.conname = 'accounts_email_unique' AND n.nspname LIKE $1`,
          [`${prefix}\\_%`],
        )
      ).map((row) => row.nspname),
    )

  it('applies 5 migrations to 200 namespaces; a re-run applies nothing', async () => {
    const namespaces = names('a', 200)
    const first = await migrate(['-n', namespaces.join(','), '--create-namespaces', '--workers', '8'])
    expect(first.stderr).not.toMatch(/error/i)
    expect(first.code).toBe(0)
    expect(first.report.summary).toMatchObject({total: 200, succeeded: 200, failed: 0, cancelled: 0})
    expect(applied(first.report)).toBe(1000)
    const again = await migrate(['-n', namespaces.join(',')])
    expect(again.code).toBe(0)
    expect(applied(again.report)).toBe(0)
    expect(new Set(Object.values(await versions(namespaces)))).toEqual(new Set(['5']))
    const [row] = await backend.query<{history: number; owners: number}>(
      `SELECT (SELECT count(*)::int FROM a_137.fanout_schema_history WHERE success) AS history, (SELECT count(*)::int FROM a_137.accounts) AS owners`,
    )
    expect(row).toEqual({history: 5, owners: 1})
    // The history table is one file: bounded columns leave it no TOAST table, and it has no index.
    const [history] = await backend.query<{toast: boolean; indexes: number}>(
      `SELECT reltoastrelid <> 0 AS toast, (SELECT count(*)::int FROM pg_index WHERE indrelid = c.oid) AS indexes FROM pg_class c WHERE oid = 'a_137.fanout_schema_history'::regclass`,
    )
    expect(history).toEqual({toast: false, indexes: 0})
  })

  it('fail-fast: a migration failing in one namespace stops new ones, leaves none half-applied; a re-run after the fix completes', async () => {
    const namespaces = names('b', 30)
    expect((await migrate(['-n', namespaces.join(','), '--create-namespaces', '--target', '3'])).code).toBe(0)
    // status names the versions still to apply, the same field and shape as migrate's own report.
    const status = await migrate(['status', '-n', 'b_001'])
    expect(status.report).toMatchObject({command: 'migrate status', results: [{target: 'b_001', version: '3', pending: ['4', '5']}]})
    await duplicateOwner('b_002')
    const failed = await migrate(['-n', namespaces.join(','), '--workers', '2'])
    expect(failed.code).toBe(1)
    const bad = failed.report.results.find((line) => line.target === 'b_002')!
    expect(bad).toMatchObject({status: 'failed', version: '3'})
    expect(bad.error).toMatchObject({code: '23505', message: expect.stringMatching(/V4__unique_account_email\.sql.*23505/)})
    const notStarted = failed.report.results.filter((line) => line.status === 'cancelled' && line.attempts === 0)
    expect(notStarted.length).toBeGreaterThanOrEqual(20)
    const after = await versions(namespaces)
    expect(after.b_002).toBe('3')
    for (const line of notStarted) expect(after[line.target]).toBe('3')
    // Each namespace has exactly what its history says: V4's constraint where the version is 4 or more.
    const withConstraint = await constrained('b')
    for (const namespace of namespaces) expect(withConstraint.has(namespace)).toBe(Number(after[namespace]) >= 4)

    await backend.query(`DELETE FROM b_002.accounts WHERE id = (SELECT max(id) FROM b_002.accounts)`)
    const fixed = await migrate(['-n', namespaces.join(',')])
    expect(fixed.code).toBe(0)
    expect(new Set(Object.values(await versions(namespaces)))).toEqual(new Set(['5']))
  })

  it('--keep-going migrates every other namespace', async () => {
    const namespaces = names('c', 10)
    expect((await migrate(['-n', namespaces.join(','), '--create-namespaces', '--target', '3'])).code).toBe(0)
    await duplicateOwner('c_005')
    const result = await migrate(['-n', namespaces.join(','), '--keep-going', '--workers', '3'])
    expect(result.code).toBe(1)
    expect(result.report.summary).toMatchObject({succeeded: 9, failed: 1, cancelled: 0})
    const after = await versions(namespaces)
    expect(after).toEqual(Object.fromEntries(namespaces.map((namespace) => [namespace, namespace === 'c_005' ? '3' : '5'])))
  })

  it('--transaction namespace: a failing namespace keeps none of its pending migrations', async () => {
    const namespaces = names('j', 4)
    expect((await migrate(['-n', namespaces.join(','), '--create-namespaces', '--target', '3'])).code).toBe(0)
    await duplicateOwner('j_003')
    const result = await migrate(['-n', namespaces.join(','), '--keep-going', '--transaction', 'namespace'])
    expect(result.code).toBe(1)
    expect(await versions(namespaces)).toEqual({j_001: '5', j_002: '5', j_003: '3', j_004: '5'})
    const [row] = await backend.query<{status: boolean}>(`SELECT to_regclass('j_003.invoices') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'j_003' AND column_name = 'status') AS status`)
    expect(row!.status).toBe(true)
  })

  it('--waves 1,5: a failing canary halts the later waves, even with --keep-going', async () => {
    const namespaces = names('k', 12)
    expect((await migrate(['-n', namespaces.join(','), '--create-namespaces', '--target', '3'])).code).toBe(0)
    await duplicateOwner('k_001')
    const result = await migrate(['-n', namespaces.join(','), '--keep-going', '--waves', '1,5'])
    expect(result.code).toBe(1)
    expect(result.report.summary).toMatchObject({failed: 1, succeeded: 0, cancelled: 11})
  })

  it('an edited applied file is drift: validate reports it and migrate refuses; line endings alone are not; repair accepts it', async () => {
    const namespaces = names('e', 3)
    const migrations = await migrationsCopy()
    try {
      const args = ['--dir', migrations, '-n', namespaces.join(',')]
      expect((await migrate([...args, '--create-namespaces'])).code).toBe(0)
      const v2 = join(migrations, 'V2__create_invoices.sql')
      await writeFile(v2, (await readFile(v2, 'utf8')).replaceAll('\n', '\r\n'))
      expect((await run(['validate', ...args])).code).toBe(0)

      await appendFile(v2, '-- edited after it ran\n')
      const validate = await run(['validate', ...args])
      expect(validate.code).toBe(1)
      expect(validate.stdout).toContain('V2__create_invoices.sql changed after it was applied (checksum differs): 3 namespaces (e_001, e_002, e_003)')
      await writeFile(join(migrations, 'V6__more.sql'), 'CREATE TABLE more (id int);\n')
      const blocked = await migrate(args)
      expect(blocked.code).toBe(1)
      expect(blocked.report.results[0]!.error).toMatchObject({code: 'refused', message: expect.stringMatching(/V2__create_invoices\.sql changed.*fanout migrate repair/)})
      expect(await versions(namespaces, migrations)).toEqual({e_001: '5', e_002: '5', e_003: '5'})

      expect((await run(['repair', ...args])).code).toBe(0)
      expect((await run(['validate', ...args])).code).toBe(0)
      expect((await migrate(args)).code).toBe(0)
      expect(await versions(namespaces, migrations)).toEqual({e_001: '6', e_002: '6', e_003: '6'})

      // A file added below the applied version is refused, as with Flyway, unless --out-of-order.
      await writeFile(join(migrations, 'V2.5__late.sql'), 'CREATE TABLE late (id int);\n')
      const refused = await migrate(args)
      expect(refused.code).toBe(1)
      expect(refused.report.results[0]!.error).toMatchObject({code: 'refused', message: expect.stringMatching(/V2\.5__late\.sql is older than the applied version 6.*--out-of-order/)})
      const allowed = await migrate([...args, '--out-of-order'])
      expect(allowed.code).toBe(0)
      expect(allowed.report.results.map((line) => line.applied)).toEqual([['2.5'], ['2.5'], ['2.5']])
      expect(await versions(namespaces, migrations)).toEqual({e_001: '6', e_002: '6', e_003: '6'})
    } finally {
      await rm(migrations, {recursive: true, force: true})
    }
  })

  it('a failed no-transaction migration is recorded and blocks the namespace until repair', async () => {
    const migrations = await mkdtemp(join(tmpdir(), 'fanout-notx-'))
    try {
      await writeFile(join(migrations, 'V1__items.sql'), 'CREATE TABLE items (sku text);\n')
      await writeFile(join(migrations, 'V2__unique_sku.sql'), '-- fanout:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY items_sku ON items (sku);\n')
      const args = ['--dir', migrations, '-n', 'n_001,n_002', '--keep-going']
      expect((await migrate([...args, '--create-namespaces', '--target', '1'])).code).toBe(0)
      await backend.query(`INSERT INTO n_002.items VALUES ('a'), ('a')`)
      const failed = await migrate(args)
      expect(failed.code).toBe(1)
      expect(failed.report.results[1]).toMatchObject({status: 'failed', version: '1'})
      const [row] = await backend.query<{success: boolean}>(`SELECT success FROM n_002.fanout_schema_history WHERE version = '2'`)
      expect(row!.success).toBe(false)
      const blocked = await migrate(args)
      expect(blocked.report.results[1]!.error).toMatchObject({code: 'refused', message: expect.stringMatching(/V2__unique_sku\.sql failed earlier.*fanout migrate repair/)})

      await backend.query('DROP INDEX IF EXISTS n_002.items_sku')
      await backend.query('DELETE FROM n_002.items WHERE ctid = (SELECT max(ctid) FROM n_002.items)')
      expect((await run(['repair', ...args.slice(0, 4)])).code).toBe(0)
      expect((await migrate(args)).code).toBe(0)
      expect(await versions(['n_001', 'n_002'], migrations)).toEqual({n_001: '2', n_002: '2'})
    } finally {
      await rm(migrations, {recursive: true, force: true})
    }
  })

  it('--dry-run shows what would be applied and changes nothing', async () => {
    const namespaces = names('f', 3)
    const result = await migrate(['-n', namespaces.join(','), '--create-namespaces', '--dry-run'])
    expect(result.code).toBe(0)
    expect(result.report.results.map((line) => line.pending)).toEqual(namespaces.map(() => ['1', '2', '3', '4', '5']))
    expect(await backend.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'f\\_%'`)).toEqual([])
  })

  it('Ctrl-C mid-run: exits 130 with the partial report, and no namespace is half-applied', async () => {
    const migrations = await mkdtemp(join(tmpdir(), 'fanout-slow-'))
    try {
      await writeFile(join(migrations, 'V1__t.sql'), 'CREATE TABLE t (id int);\n')
      await writeFile(join(migrations, 'V2__slow.sql'), 'SELECT pg_sleep(0.15);\nALTER TABLE t ADD COLUMN c int;\n')
      const namespaces = names('h', 60)
      const result = await migrate(['--dir', migrations, '-n', namespaces.join(','), '--create-namespaces', '--workers', '2'], {
        // PostgreSQL: once two namespaces are done, however slow the machine is to start the process; PGlite cannot
        // be read while the run has it open, so a timer.
        interruptWhen:
          backend.name === 'pglite'
            ? new Promise((resolve) => setTimeout(resolve, 6000))
            : until(async () => (await backend.query(`SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'fanout_schema_history' AND n.nspname LIKE 'h\\_%'`)).length >= 3, 60_000),
      })
      expect(result.code).toBe(130)
      expect(result.report.interrupted).toBe(true)
      expect(result.report.summary.succeeded).toBeGreaterThan(0)
      expect(result.report.summary.cancelled).toBeGreaterThan(0)
      const rows = await backend.query<{nspname: string; has_c: boolean}>(
        `SELECT n.nspname, EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = n.nspname AND table_name = 't' AND column_name = 'c') AS has_c
           FROM pg_namespace n WHERE n.nspname LIKE 'h\\_%'`,
      )
      expect(rows.length).toBeGreaterThan(0)
      const after = await versions(rows.map((row) => row.nspname), migrations)
      for (const row of rows) expect(row.has_c).toBe(after[row.nspname] === '2')
    } finally {
      await rm(migrations, {recursive: true, force: true})
    }
  })
}

/** Bad input is exit 2 with one line, whatever the database. */
export function usageSuite(url: () => string): void {
  const lineOf = async (args: string[]) => {
    const result = await fanout(['migrate', '--database', url(), ...args])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    return result.stderr
  }

  it('bad directory, bad file name, duplicate versions, empty selection: exit 2, one line', async () => {
    expect(await lineOf(['--dir', 'fixtures/no-such-dir', '-n', 'x'])).toMatch(/--dir: cannot read "fixtures\/no-such-dir" \(ENOENT\)/)
    const migrations = await migrationsCopy()
    try {
      await writeFile(join(migrations, 'V6-oops.sql'), 'SELECT 1;\n')
      expect(await lineOf(['--dir', migrations, '-n', 'x'])).toMatch(/V6-oops\.sql" is not named V<version>__<description>\.sql/)
      await rm(join(migrations, 'V6-oops.sql'))
      await writeFile(join(migrations, 'V1.0__again.sql'), 'SELECT 1;\n')
      expect(await lineOf(['--dir', migrations, '-n', 'x'])).toMatch(/V1.0__again\.sql" and ".*V1__create_accounts\.sql" have the same version|V1__create_accounts\.sql" and ".*V1.0__again\.sql" have the same version/)
      await rm(join(migrations, 'V1.0__again.sql'))
      expect(await lineOf(['--dir', migrations, '--namespace-pattern', 'nothing_like_this_%'])).toMatch(/no namespaces selected.*selection came out empty/)
      expect(await lineOf(['--dir', migrations])).toMatch(/no namespaces selected: give --namespaces/)
      expect(await lineOf(['--dir', migrations, '-n', 'x', '--waves', '1,0'])).toMatch(/--waves expects wave sizes/)
    } finally {
      await rm(migrations, {recursive: true, force: true})
    }
  })
}
