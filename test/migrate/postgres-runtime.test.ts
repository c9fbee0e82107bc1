import {setTimeout as sleep} from 'node:timers/promises'

import pg from 'pg'
import {describe, expect, it} from 'vitest'

import {fanout, until} from '../helpers/cli.js'
import {names, postgresBackend} from './backends.js'
import {migrateFixture} from './migrate-fixture.js'

const {db, migrationsOf, migrate} = migrateFixture(postgresBackend)

const history = (namespace: string) =>
  db().query<{version: string; success: boolean}>(`SELECT version, success FROM ${namespace}.fanout_schema_history ORDER BY installed_rank`)

// PGlite runs inside the fanout process, its one session reachable by nothing else: no other session can terminate
// it, and no connection can be lost.
describe('a terminated backend or a lost connection (finding 5)', {timeout: 120_000}, () => {
  const files = {
    'V1__t.sql': 'CREATE TABLE t (id int);\n',
    'V2__slow.sql': "SELECT pg_sleep(CASE WHEN '${namespace}' LIKE '%_002' THEN 2.5 ELSE 0 END);\nCREATE TABLE u (id int);\n",
    'V3__v.sql': 'CREATE TABLE v (id int);\n',
  }
  /** Terminates the session sleeping in V2 once it sleeps. */
  const terminateSleeper = async () => {
    await until(async () => (await db().query(`SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()`)).length > 0, 20_000)
    await db().query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()`)
  }

  it('pg_terminate_backend() on a migrating session: the namespace fails, the report is printed, exit 1, history is what committed', async () => {
    const dir = await migrationsOf(files)
    const run = migrate(['--dir', dir, '-n', 'kill_001,kill_002,kill_003', '--create-namespaces', '--keep-going', '--workers', '3'])
    await terminateSleeper()
    const result = await run
    expect(result.stderr).not.toMatch(/Unhandled|Connection terminated unexpectedly\n\s+at/)
    expect(result.code).toBe(1)
    const killed = result.lines.find((line) => line.target === 'kill_002')!
    expect(killed).toMatchObject({status: 'failed', version: '1', applied: ['1']})
    expect(killed.error!.message).toMatch(/^V2__slow\.sql: terminating connection due to administrator command \(SQLSTATE 57P01\)/)
    expect(result.summary).toMatchObject({succeeded: 2, failed: 1, cancelled: 0})
    expect(await history('kill_002')).toEqual([{version: '1', success: true}])
    const [tables] = await db().query(`SELECT to_regclass('kill_002.t') IS NOT NULL AS t, to_regclass('kill_002.u') IS NOT NULL AS u`)
    expect(tables).toEqual({t: true, u: false})
  })

  it('with --retries 2 the namespace is tried again on a new connection and completes', async () => {
    const dir = await migrationsOf(files)
    const run = migrate(['--dir', dir, '-n', 'retry_001,retry_002', '--create-namespaces', '--retries', '2', '--workers', '2'])
    await terminateSleeper()
    const result = await run
    expect(result.stderr).not.toMatch(/Unhandled/)
    expect(result.code).toBe(0)
    expect(result.lines.find((line) => line.target === 'retry_002')).toMatchObject({status: 'succeeded', attempts: 2, version: '3'})
    expect((await history('retry_002')).map((row) => row.version)).toEqual(['1', '2', '3'])
  })
  it('every session of the run terminated at once, as a server restart does: no crash, exit 1, each version reported is what the history holds', async () => {
    const dir = await migrationsOf({...files, 'V2__slow.sql': 'SELECT pg_sleep(2.5);\nCREATE TABLE u (id int);\n'})
    const namespaces = names('all', 6)
    const run = migrate(['--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--keep-going', '--workers', '3'])
    await until(async () => (await db().query(`SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()`)).length >= 2, 30_000)
    await db().query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
    const result = await run
    expect(result.stderr).not.toMatch(/Unhandled/)
    expect(result.code).toBe(1)
    expect(result.summary!.failed).toBeGreaterThanOrEqual(2)
    for (const line of result.lines) {
      const rows = await db().query<{version: string}>(`SELECT version FROM ${line.target}.fanout_schema_history WHERE success ORDER BY installed_rank`).catch(() => [])
      expect(line.version ?? null, line.target).toBe(rows.at(-1)?.version ?? null)
    }
  })
})

// A PGlite directory is one process's database: a second fanout on it is refused (pglite.test.ts), so runs at once
// exist only on a server.
describe('runs at once on one database (finding 2)', {timeout: 120_000}, () => {
  it('3 processes × 100 namespaces with CREATE INDEX CONCURRENTLY: each migration applied once, all exit 0, none blocked', {timeout: 180_000}, async () => {
    const dir = await migrationsOf({
      'V1__orders.sql': 'CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, placed_on date NOT NULL DEFAULT current_date);\n',
      'V2__orders_customer.sql': '-- fanout:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer ON orders (customer);\n',
      'V3__seed.sql': "INSERT INTO orders (customer) VALUES ('${namespace}');\nALTER TABLE orders ADD COLUMN total_cents bigint NOT NULL DEFAULT 0;\n",
      'V4__orders_placed.sql': '-- fanout:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_placed ON orders (placed_on);\n',
      'V5__note.sql': 'ALTER TABLE orders ADD COLUMN note text;\n',
    })
    const namespaces = names('cc', 100)
    const args = ['--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--workers', '6']
    const runs = await Promise.all([migrate(args), migrate(args), migrate(args)])
    for (const run of runs) expect(run.code, run.stdout.slice(0, 2000) + run.stderr).toBe(0)
    const applied = runs.flatMap((run) => run.lines).reduce((sum, line) => sum + (line.applied?.length ?? 0), 0)
    expect(applied).toBe(500)
    const [counts] = await db().query<{rows: number; history: number; failed: number; invalid: number; indexes: number}>(
      `SELECT (SELECT count(*)::int FROM (${namespaces.map((namespace) => `SELECT 1 FROM ${namespace}.orders`).join(' UNION ALL ')}) o) AS rows,
              (SELECT count(*)::int FROM (${namespaces.map((namespace) => `SELECT success FROM ${namespace}.fanout_schema_history`).join(' UNION ALL ')}) h) AS history,
              (SELECT count(*)::int FROM (${namespaces.map((namespace) => `SELECT success FROM ${namespace}.fanout_schema_history WHERE NOT success`).join(' UNION ALL ')}) f) AS failed,
              (SELECT count(*)::int FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'cc\\_%' AND NOT i.indisvalid) AS invalid,
              (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'cc\\_%' AND c.relname IN ('orders_customer', 'orders_placed')) AS indexes`,
    )
    expect(counts).toEqual({rows: 100, history: 500, failed: 0, invalid: 0, indexes: 200})
  })

  it('a re-run finds up-to-date namespaces so from their histories read ahead: it waits for no lock another run holds on one', async () => {
    const dir = await migrationsOf({'V1__t.sql': 'CREATE TABLE t (id int);\n'})
    const namespaces = names('ahead', 3)
    expect((await migrate(['--dir', dir, '-n', namespaces.join(','), '--create-namespaces'])).code).toBe(0)
    // Another run, as far as fanout can tell: a session holding ahead_002's namespace lock.
    const other = new pg.Client(db().url)
    await other.connect()
    try {
      await other.query("SELECT pg_advisory_lock(hashtext('fanout_schema_history'), hashtext('ahead_002'))")
      const again = await migrate(['--dir', dir, '-n', namespaces.join(',')])
      expect(again.code, again.stderr).toBe(0)
      expect(again.lines.map((line) => [line.target, line.status, line.version, line.applied])).toEqual(namespaces.map((namespace) => [namespace, 'succeeded', '1', []]))
      // A new file is work to do: that namespace waits for its lock, as ever.
      const more = await migrationsOf({'V1__t.sql': 'CREATE TABLE t (id int);\n', 'V2__u.sql': 'CREATE TABLE u (id int);\n'})
      let ended = false
      const waiting = migrate(['--dir', more, '-n', 'ahead_002']).finally(() => (ended = true))
      await sleep(1000)
      expect(ended).toBe(false)
      await other.query("SELECT pg_advisory_unlock(hashtext('fanout_schema_history'), hashtext('ahead_002'))")
      const waited = await waiting
      expect(waited.code, waited.stderr).toBe(0)
      expect(waited.lines[0]).toMatchObject({target: 'ahead_002', status: 'succeeded', applied: ['2']})
    } finally {
      await other.end()
    }
  })
})

describe('namespaces another run holds (runs at once split the list)', {timeout: 120_000}, () => {
  it('are taken up after the others, on the sessions the run has: the others migrate meanwhile, each once', async () => {
    const dir = await migrationsOf({'V1__t.sql': 'CREATE TABLE t (id int);\n'})
    const namespaces = names('split', 40)
    const held = namespaces.filter((_, i) => i % 2 === 1)
    const free = namespaces.filter((_, i) => i % 2 === 0)
    // Every other namespace's lock, held as another fanout migrate holds the ones it is migrating.
    const other = new pg.Client(db().url)
    await other.connect()
    const sessions = async () => (await db().query<{n: number}>('SELECT sessions::int AS n FROM pg_stat_database WHERE datname = current_database()'))[0]!.n
    try {
      for (const namespace of held) await other.query("SELECT pg_advisory_lock(hashtext('fanout_schema_history'), hashtext($1))", [namespace])
      const before = await sessions()
      const run = migrate(['--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--workers', '2'])
      // Two workers reach every free namespace while the held ones stay held: none of them waited in line.
      const migrated = () => db().query(`SELECT 1 FROM pg_tables WHERE tablename = 't' AND schemaname = ANY($1)`, [namespaces])
      await until(async () => (await migrated()).length === free.length, 60_000)
      expect((await migrated()).length).toBe(free.length)
      await other.query('SELECT pg_advisory_unlock_all()')
      const result = await run
      expect(result.code, result.stderr).toBe(0)
      expect(result.lines.map((line) => [line.target, line.status, line.applied])).toEqual(namespaces.map((namespace) => [namespace, 'succeeded', ['1']]))
      // A namespace given back leaves its session clean, and the session serves the next one: not a new server
      // process per namespace found held (20 here). Counted once the run's sessions have ended.
      await until(async () => (await db().query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'fanout migrate' AND datname = current_database()`)).length === 0)
      expect(await sessions()).toBeLessThanOrEqual(before + 6)
    } finally {
      await other.end()
    }
  })

  it('two runs of -w 8 on one list share the 8 sessions while they meet: 8 namespaces migrating at once, not 16', async () => {
    const dir = await migrationsOf({'V1__t.sql': 'SELECT pg_sleep(0.05);\nCREATE TABLE t (id int);\n'})
    const namespaces = names('meet', 240)
    // Namespace locks held at once by the two runs, sampled while they go.
    const held: number[] = []
    let running = true
    const sampling = (async () => {
      while (running) {
        const [row] = await db().query<{n: number}>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = (hashtext('fanout_schema_history')::bigint & 4294967295)::oid",
        )
        held.push(row!.n)
        await sleep(20)
      }
    })()
    const args = ['--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--workers', '8']
    const runs = await Promise.all([migrate(args), migrate(args)])
    running = false
    await sampling
    for (const run of runs) expect(run.code, run.stderr).toBe(0)
    expect(runs.flatMap((run) => run.lines).reduce((sum, line) => sum + (line.applied?.length ?? 0), 0)).toBe(240)
    // Both runs took part, and past their first moments (each starts on 8 before it learns of the other) at most 8
    // namespaces were in work at once; without the sharing, 16.
    for (const run of runs) expect(run.lines.filter((line) => line.applied?.length).length).toBeGreaterThan(24)
    const busy = held.filter((n) => n > 0).sort((a, b) => a - b)
    expect(busy.length).toBeGreaterThan(10)
    expect(busy[Math.floor(0.9 * busy.length)]).toBeLessThanOrEqual(9)
  })
})

describe('a lock another session holds', {timeout: 120_000}, () => {
  it('past --lock-wait the namespace fails naming that session (pid, application, what it runs, how to end it); 0 fails at once; the others go on', async () => {
    const dir = await migrationsOf({'V1__t.sql': 'CREATE TABLE t (id int);\n'})
    const namespaces = names('held', 3)
    // A psql session someone left holding held_002's lock, as a deploy script might.
    const other = new pg.Client({connectionString: db().url, application_name: 'deploy-script'})
    await other.connect()
    try {
      await other.query("SELECT pg_advisory_lock(hashtext('fanout_schema_history'), hashtext('held_002'))")
      const [{pid}] = await other.query<{pid: number}>('SELECT pg_backend_pid() AS pid').then((result) => result.rows)
      const started = performance.now()
      const bounded = await migrate(['--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--keep-going', '--lock-wait', '1s'])
      expect(bounded.code, bounded.stderr).toBe(1)
      expect(performance.now() - started).toBeLessThan(15_000)
      expect(bounded.lines.map((line) => [line.target, line.status])).toEqual([['held_001', 'succeeded'], ['held_002', 'failed'], ['held_003', 'succeeded']])
      expect(bounded.lines[1]!.error!.code).toBe('locked')
      expect(bounded.lines[1]!.error!.message).toMatch(
        new RegExp(`^waited 1\\.00s for the lock on held_002, held by pid ${pid} \\(deploy-script from 127\\.0\\.0\\.1\\), idle for [\\d.]+m?s; raise --lock-wait to wait longer, or end that session: SELECT pg_terminate_backend\\(${pid}\\)$`),
      )
      const at = await migrate(['repair', '--dir', dir, '-n', 'held_002', '--lock-wait', '0'])
      expect(at.code).toBe(1)
      expect(at.lines[0]!.error!.code).toBe('locked')
      expect(at.lines[0]!.error!.message).toMatch(new RegExp(`^the lock on held_002 is taken, held by pid ${pid} \\(deploy-script from 127\\.0\\.0\\.1\\)`))
      expect((await migrate(['--dir', dir, '-n', 'held_002', '--lock-wait', 'soon'])).code).toBe(2)
      await other.query("SELECT pg_advisory_unlock(hashtext('fanout_schema_history'), hashtext('held_002'))")
      const after = await migrate(['--dir', dir, '-n', 'held_002', '--create-namespaces', '--lock-wait', '0'])
      expect(after.code, after.stderr).toBe(0)
      expect(after.lines[0]).toMatchObject({status: 'succeeded', applied: ['1']})
    } finally {
      await other.end()
    }
  })

  it("fanout's own sessions are named in pg_stat_activity, so that whoever waits on them can tell", async () => {
    const dir = await migrationsOf({'V1__slow.sql': 'SELECT pg_sleep(1.5);\n'})
    const run = migrate(['--dir', dir, '-n', 'named_001', '--create-namespaces'])
    await until(async () => (await db().query(`SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()`)).length > 0, 20_000)
    const [row] = await db().query<{application: string}>(`SELECT application_name AS application FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()`)
    expect(row).toEqual({application: 'fanout migrate'})
    expect((await run).code).toBe(0)
  })
})

describe('a server that refuses connections (too many clients, 53300)', {timeout: 120_000}, () => {
  it('--workers auto probing past what the server takes: the refused namespaces are tried again while the limit halves, and none fails', async () => {
    // A role allowed 4 sessions, as a server near max_connections is (superusers are exempt from such limits).
    const role = `fanout_few_${process.pid}`
    await db().query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 4`)
    try {
      await db().query(`GRANT CREATE ON DATABASE ${new URL(db().url).pathname.slice(1)} TO ${role}`)
      const url = new URL(db().url)
      url.username = role
      const dir = await migrationsOf({'V1__t.sql': 'SELECT pg_sleep(0.05);\nCREATE TABLE t (id int);\n'})
      const namespaces = names('few', 40)
      const run = await fanout(['migrate', '--database', url.toString(), '--json', '--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--workers', 'auto:1-16'])
      const report = JSON.parse(run.stdout) as {summary: Record<string, number>; results: {status: string; attempts: number}[]; workers: {overloads: number}}
      expect(run.code, run.stdout.slice(0, 1500)).toBe(0)
      expect(report.summary).toMatchObject({succeeded: 40, failed: 0, cancelled: 0})
      expect(report.workers.overloads).toBeGreaterThanOrEqual(1)
      expect(report.results.some((result) => result.attempts > 1)).toBe(true)
    } finally {
      await db().query(`DROP OWNED BY ${role}`)
      await db().query(`DROP ROLE ${role}`)
    }
  })
})

// PGlite runs one namespace at a time on its one connection: after the first failure no other namespace is in
// flight to fail on its own (the rest are cancelled), so the count this checks exists only on a server.
describe('figures on record under fail-fast (finding 6)', {timeout: 120_000}, () => {
  it('fail-fast: namespaces that failed with their own error are counted failed, as status then shows them', async () => {
    const dir = await migrationsOf({
      // ff_001 fails after 1 s, when all three are surely under way; ff_002 and ff_003 fail on their own later.
      'V1__t.sql': "SELECT pg_sleep(CASE WHEN '${namespace}' = 'ff_001' THEN 1 ELSE 2 END);\nSELECT 1 / (CASE WHEN '${namespace}' IN ('ff_001', 'ff_002', 'ff_003') THEN 0 ELSE 1 END);\n",
    })
    const namespaces = names('ff', 8)
    const result = await migrate(['--dir', dir, '-n', namespaces.join(','), '--create-namespaces', '--workers', '3'])
    expect(result.code).toBe(1)
    expect(result.summary).toMatchObject({failed: 3, succeeded: 0, cancelled: 5})
    expect(result.lines.filter((line) => line.status === 'failed').map((line) => line.target)).toEqual(['ff_001', 'ff_002', 'ff_003'])
    const status = await migrate(['status', '--dir', dir, '-n', namespaces.slice(0, 3).join(',')])
    expect(status.lines.map((line) => line.version)).toEqual([null, null, null])
  })
})
