import {setTimeout as sleep} from 'node:timers/promises'

import {formatDuration} from '../cli/values.js'
import type {Connection} from './database.js'
import {LockTaken, NamespaceFailure} from './failures.js'

// Keyed on the history table and the namespace: a lock per namespace, never one for the whole database.
const TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('fanout_schema_history'), hashtext($1)) AS locked"
const UNLOCK = "SELECT pg_advisory_unlock(hashtext('fanout_schema_history'), hashtext($1))"
/**
 * pg_locks' rows (as `l`) of a granted lock on the two int4 keys `first` and `second` (SQL) in this database: such a
 * lock shows as classid and objid (oids: a negative key reads as 2^32 more), objsubid 2.
 */
const heldKey = (first: string, second: string) =>
  `l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid = (${first}::bigint & 4294967295)::oid AND l.objid = (${second}::bigint & 4294967295)::oid`
const HOLDER = `SELECT a.pid, a.application_name AS application, host(a.client_addr) AS client, a.state,
    extract(epoch FROM now() - coalesce(a.state_change, a.backend_start)) * 1000 AS "stateMs", left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60) AS query
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE ${heldKey("hashtext('fanout_schema_history')", 'hashtext($1)')}`
// A migrate run holds this key shared on its stop latch's session for as long as it runs (see runsAt); a run without
// a latch (--transaction namespace, --dry-run) is not counted, and so is shared with less.
const RUN_KEY = ["hashtext('fanout_runs')", '0'] as const
const RUNS = `SELECT count(*)::int AS runs FROM pg_locks l WHERE ${heldKey(...RUN_KEY)}`
const FIRST_WAIT_MS = 20
const LONGEST_WAIT_MS = 500

/** Another session holds the namespace's lock and the run has other namespaces to take: this one waits for later. */
export class NamespaceBusy extends Error {
  /** Nothing ran on the session but a try-lock that failed: it goes back to the pool (see Database.withConnection). */
  readonly sessionClean = true
  constructor(namespace: string) {
    super(`${namespace}: another session holds its lock`)
    this.name = 'NamespaceBusy'
  }
}

export interface LockWait {
  /** Fail-fast or Ctrl-C: ends the wait with `stopped()`. */
  signal: AbortSignal | undefined
  stopped: () => Error
  /** The longest the lock is waited for (--lock-wait; 0: tried once); then `gaveUp` ends the wait, naming the holder. */
  longestMs: number
  gaveUp: (message: string) => Error
  /** Asked once the lock is found held: true ends the wait at once with NamespaceBusy (the namespace is taken up later). */
  defer?: () => boolean
}

/** The wait of a command that has no progress to report when stopped (repair, baseline). */
export function lockWait(signal: AbortSignal, longestMs: number): LockWait {
  const progress = {version: null, applied: []}
  return {signal, stopped: () => new NamespaceFailure("stopped while waiting for the namespace's lock", progress), longestMs, gaveUp: (message) => new LockTaken(message, progress)}
}

/**
 * Runs `work` holding the namespace's advisory lock, taken only around this namespace's own work: a second fanout
 * migrate on the same database waits for it, then finds the work done. (On PGlite the one connection, taken in
 * turn, is the lock.)
 *
 * The lock is polled with a try-lock, as Flyway does, never waited for in pg_advisory_lock(): a session blocked in
 * that call holds a snapshot, which the other run's CREATE INDEX CONCURRENTLY waits for while the other run holds the
 * lock — a deadlock (40P01). Between two tries this session is idle, with no snapshot. The wait is bounded, as
 * Flyway's lock retries are: a psql session left holding the lock, or a run stuck behind a long lock of its own,
 * would otherwise hold this run without a word. Past the bound the namespace fails, saying which session holds it.
 *
 * Found held, the namespace is first given back when `wait.defer()` allows (NamespaceBusy): runs started at once on
 * one list then split it, each taking what the others have not, instead of walking it in step behind the one ahead
 * (each waiting run polled and then read every namespace the first had migrated: as much CPU as migrating it).
 */
export async function withNamespaceLock<T>(connection: Connection, namespace: string, wait: LockWait, work: () => Promise<T>): Promise<T> {
  const started = performance.now()
  for (let backoff = FIRST_WAIT_MS; ; backoff = Math.min(backoff * 2, LONGEST_WAIT_MS)) {
    const [row] = await connection.query<{locked: boolean}>(TRY_LOCK, [namespace])
    if (row!.locked) break
    if (backoff === FIRST_WAIT_MS && wait.defer?.()) throw new NamespaceBusy(namespace)
    if (wait.signal?.aborted) throw wait.stopped()
    const left = wait.longestMs - (performance.now() - started)
    if (left <= 0) throw wait.gaveUp(await heldBy(connection, namespace, wait.longestMs))
    // Jittered, so that runs waiting on one namespace do not try in step.
    await sleep(Math.min(left, backoff / 2 + Math.random() * backoff), undefined, {signal: wait.signal}).catch(() => {})
    if (wait.signal?.aborted) throw wait.stopped()
  }
  let value: T
  try {
    value = await work()
  } catch (error) {
    // A failed unlock must not hide why the work failed; the connection is then dropped, which frees the lock.
    await connection.query(UNLOCK, [namespace]).catch(() => {})
    throw error
  }
  await connection.query(UNLOCK, [namespace])
  return value
}

/** Why the wait ended: who holds the lock (from pg_stat_activity) and what to do about it. */
async function heldBy(connection: Connection, namespace: string, waitedMs: number): Promise<string> {
  const waited = waitedMs > 0 ? `waited ${formatDuration(waitedMs)} for the lock on ${namespace}` : `the lock on ${namespace} is taken`
  const [holder] = await connection
    .query<{pid: number; application: string; client: string | null; state: string | null; stateMs: number | null; query: string | null}>(HOLDER, [namespace])
    .catch(() => [])
  if (!holder) return `${waited}, held by another session; raise --lock-wait to wait longer`
  const who = [holder.application || 'no application_name', holder.client && `from ${holder.client}`].filter(Boolean).join(' ')
  const doing = holder.state === 'active' ? `running "${holder.query}"` : (holder.state ?? 'in an unknown state')
  const since = holder.stateMs === null ? '' : ` for ${formatDuration(Number(holder.stateMs))}`
  return `${waited}, held by pid ${holder.pid} (${who}), ${doing}${since}; raise --lock-wait to wait longer, or end that session: SELECT pg_terminate_backend(${holder.pid})`
}

/** Counts this run among the migrate runs on the database, for as long as `session` lasts. */
export async function registerRun(session: {query: (sql: string) => Promise<unknown>}): Promise<void> {
  await session.query(`SELECT pg_advisory_lock_shared(${RUN_KEY.join(', ')})`)
}

/** How many migrate runs are on the database now, this one included (at least 1: a run that could not register). */
export async function runsAt(connection: Connection): Promise<number> {
  const [row] = await connection.query<{runs: number}>(RUNS)
  return Math.max(1, row?.runs ?? 1)
}
