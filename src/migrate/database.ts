import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {setImmediate} from 'node:timers/promises'

import pg from 'pg'
import {from as copyFrom} from 'pg-copy-streams'

import {UsageError} from '../cli/errors.js'
import {maskCredentials, maskUrl} from '../report/mask.js'
import {registerRun} from './namespace-lock.js'
import {copyFromBlob, statementRanges} from './sql-split.js'
import {StopLatch} from './stop-latch.js'

/** One session on the database: what a namespace's migrations run on, start to end. */
export interface Connection {
  /** One statement, always by the extended protocol: a user's query can never smuggle in a second one. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  /** One or more statements sent as one simple query (no parameters): a migration script, a whole transaction. */
  exec(sql: string): Promise<void>
  /** `COPY … FROM stdin` with its data (the text between the statement and its `\.` line in a migration file). */
  copyFrom(sql: string, data: string): Promise<void>
}

export interface Database {
  /** Where, for messages: the URL without its password, or the PGlite directory. */
  readonly name: string
  /** Sessions it has for namespaces at once: the pool's size (PostgreSQL); 1 for PGlite, whose one connection takes turns. */
  readonly sessions: number
  /**
   * Runs `work` on a connection of its own: from the pool for PostgreSQL; PGlite's only one, in turn (its
   * in-process lock stands in for a pool). A connection whose work threw is not reused.
   */
  withConnection<T>(work: (connection: Connection) => Promise<T>): Promise<T>
  /**
   * A latch on a session of its own, so that a namespace's migrations can go to the server as one query (PostgreSQL);
   * undefined where they go one by one (PGlite, whose one connection is in-process; or no session to spare).
   */
  openStopLatch(): Promise<StopLatch | undefined>
  close(): Promise<void>
}

const DEFAULT_PGLITE_DIR = '.fanout/pglite'
const APPLICATION = 'fanout migrate'

/**
 * `postgres://…` (a pg pool of `connections`), `pglite://PATH`, `pglite://memory`, or nothing: PGlite persisted in
 * ./.fanout/pglite, so that fanout migrate works with no server. A database it cannot reach is a UsageError.
 */
export async function openDatabase(url: string | undefined, connections: number): Promise<Database> {
  if (url === undefined) return openPglite(DEFAULT_PGLITE_DIR)
  const name = checkDatabaseUrl(url)
  return isPostgresUrl(url) ? openPostgres(url, name, connections) : openPglite(url.slice('pglite://'.length))
}

/** The URL as messages show it (password masked), once it is one openDatabase takes; else a UsageError. */
export function checkDatabaseUrl(url: string): string {
  if (isPostgresUrl(url)) return checkedUrl(url)
  if (url.startsWith('pglite://')) return url
  throw new UsageError(`--database expects postgres://user@host:port/db, pglite://PATH or pglite://memory; got "${maskUrl(url)}"`)
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url)
}

/** A database that could not be opened (no server there, no such database, a PGlite directory it cannot read). */
export class Unreachable extends UsageError {
  constructor(
    message: string,
    /** What kind of failure: the socket's (ECONNREFUSED) or the server's SQLSTATE (3D000), else unreachable. */
    readonly code: string,
  ) {
    super(message)
  }
}

async function openPostgres(url: string, name: string, connections: number): Promise<Database> {
  // Named in pg_stat_activity, so that a DBA (and another run waiting for a lock) can tell whose sessions these are;
  // an application_name in the URL still wins.
  const pool = new pg.Pool({connectionString: url, max: connections, connectionTimeoutMillis: 10_000, application_name: APPLICATION})
  pool.on('error', () => {}) // an idle client's lost connection: the next checkout gets a new one
  try {
    await pool.query('SELECT 1')
  } catch (error) {
    await pool.end()
    const code = (error as NodeJS.ErrnoException).code
    const reason = code ?? (error as Error).message
    throw new Unreachable(`--database: cannot connect to ${name} (${reason}: ${maskCredentials((error as Error).message)}); check the URL and that the server is running`, code ?? 'unreachable')
  }
  let latch: pg.Client | undefined
  return {
    name,
    sessions: connections,
    async withConnection(work) {
      const client = await pool.connect()
      // A checked-out client whose backend is terminated or whose connection drops emits 'error' besides failing
      // its query: without a listener of our own that event ends the process ("Unhandled 'error' event").
      const lost = () => {}
      client.on('error', lost)
      const connection: Connection = {
        query: async (sql, params) => (await client.query({text: sql, values: params, queryMode: 'extended'} as pg.QueryConfig)).rows,
        exec: async (sql) => {
          // The statements that completed before an error say which one failed (the error alone does not).
          let completed = 0
          const count = () => completed++
          client.connection.on('commandComplete', count)
          try {
            await client.query(sql)
          } catch (error) {
            throw Object.assign(error as object, {completed})
          } finally {
            client.connection.removeListener('commandComplete', count)
          }
        },
        copyFrom: (sql, data) => pipeline(Readable.from([data]), client.query(copyFrom(sql))),
      }
      try {
        const value = await work(connection)
        client.removeListener('error', lost)
        client.release()
        return value
      } catch (error) {
        client.removeListener('error', lost)
        // Its session may hold a lock or an aborted transaction: never hand it out again, unless the error says that
        // nothing was left on it (a new session costs the server a process: runs that defer held namespaces by the
        // hundred made the server spend more on sessions than on migrations).
        client.release(!(error as {sessionClean?: boolean})?.sessionClean)
        throw error
      }
    },
    async openStopLatch() {
      const client = new pg.Client({connectionString: url, connectionTimeoutMillis: 10_000, application_name: APPLICATION})
      client.on('error', () => {})
      try {
        await client.connect()
      } catch {
        return undefined // the migrations then go one by one, as correct and a little slower
      }
      latch = client
      // The latch's session lasts as long as the run: it counts the run among those on the database (runsAt).
      await registerRun(client).catch(() => {})
      return new StopLatch((sql) => client.query(sql))
    },
    async close() {
      await pool.end()
      await latch?.end()
    },
  }
}

async function openPglite(location: string): Promise<Database> {
  const memory = location === 'memory'
  const dir = memory ? undefined : resolve(location)
  if (dir) await mkdir(dir, {recursive: true})
  const unlock = dir ? await lockDirectory(dir) : async () => {}
  // Loaded only when used: PGlite is a large WebAssembly module, and a run on a PostgreSQL server never needs it.
  const {PGlite} = await import('@electric-sql/pglite')
  const db = new PGlite(dir)
  try {
    await db.waitReady
  } catch (error) {
    await unlock()
    throw new Unreachable(`--database: cannot open PGlite in ${dir} (${(error as Error)?.message ?? error}); check the directory`, 'unreachable')
  }
  let turn: Promise<unknown> = Promise.resolve()
  // PGlite runs each query synchronously and settles it as a microtask: without a turn of the event loop between
  // queries, Ctrl-C and progress timers would wait for the whole run.
  const connection: Connection = {
    query: async (sql, params) => {
      await setImmediate()
      return (await db.query(sql, params)).rows as never[]
    },
    exec: async (sql) => {
      await setImmediate()
      // One statement at a time: PGlite's exec does not tell how many statements of a query ran before an error,
      // and the count says which one failed. A text the parser refuses goes whole, for the server's own error.
      const statements = statementRanges(sql) ?? [{start: 0, end: sql.length}]
      for (const [index, {start, end}] of statements.entries()) {
        try {
          await db.exec(statements.length === 1 ? sql : sql.slice(start, end))
        } catch (error) {
          const position = Number((error as {position?: string}).position)
          throw Object.assign(error as object, {completed: index, position: position > 0 ? String(position + start) : undefined})
        }
      }
    },
    copyFrom: async (sql, data) => {
      await setImmediate()
      await db.query(copyFromBlob(sql), [], {blob: new Blob([data])})
    },
  }
  return {
    name: memory ? 'PGlite in memory' : `PGlite in ${location}`,
    sessions: 1,
    openStopLatch: async () => undefined,
    withConnection(work) {
      const run = turn.then(() => work(connection))
      turn = run.catch(async () => {
        if (db.isInTransaction()) await db.exec('ROLLBACK')
      })
      return run
    },
    async close() {
      try {
        await db.close()
      } finally {
        await unlock()
      }
    },
  }
}

/**
 * PGlite is one process's database: it reads the directory at open and writes it back, so a second process on the
 * same directory would overwrite the first's work. A lock file next to it (holding the owner's pid, so that one left
 * by a killed run is taken over) keeps a second run out with a clear line.
 */
async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const lock = `${dir}.lock`
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), {flag: 'wx'})
      return () => rm(lock, {force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number(await readFile(lock, 'utf8').catch(() => ''))
    if (owner > 0 && owner !== process.pid && isRunning(owner)) {
      throw new UsageError(`--database: PGlite in ${dir} is in use by another fanout (pid ${owner}); wait for it to end, or use a PostgreSQL server for runs at once`)
    }
    await rm(lock, {force: true}) // left by a run that was killed
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A valid URL, as messages show it (password masked). */
function checkedUrl(url: string): string {
  if (!URL.canParse(url)) throw new UsageError(`--database: "${maskUrl(url)}" is not a valid URL; e.g. postgres://postgres@127.0.0.1:5432/postgres`)
  return maskUrl(new URL(url))
}

/**
 * Runs `work` in a READ ONLY transaction, so that a query the user gave (`--namespaces-query`) or what `status` and
 * `validate` read can change nothing. The SELECT takes the transaction's snapshot at once: after it, not even
 * `SET TRANSACTION READ WRITE` can lift the restriction.
 */
export async function readOnly<T>(connection: Connection, work: () => Promise<T>): Promise<T> {
  await connection.exec('BEGIN TRANSACTION READ ONLY; SELECT 1')
  let value: T
  try {
    value = await work()
  } catch (error) {
    await connection.exec('ROLLBACK').catch(() => {})
    throw error
  }
  await connection.exec('ROLLBACK')
  return value
}
