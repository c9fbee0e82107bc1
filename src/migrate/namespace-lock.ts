import {setTimeout as sleep} from 'node:timers/promises'

import type {Connection} from './database.js'

// Keyed on the history table and the namespace: a lock per namespace, never one for the whole database.
const TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('fanout_schema_history'), hashtext($1)) AS locked"
const UNLOCK = "SELECT pg_advisory_unlock(hashtext('fanout_schema_history'), hashtext($1))"
const FIRST_WAIT_MS = 20
const LONGEST_WAIT_MS = 500

/**
 * Runs `work` holding the namespace's advisory lock, taken only around this namespace's own work: a second fanout
 * migrate on the same database waits for it, then finds the work done. (On PGlite the one connection, taken in
 * turn, is the lock.)
 *
 * The lock is polled with a try-lock, as Flyway does, never waited for in pg_advisory_lock(): a session blocked in
 * that call holds a snapshot, which the other run's CREATE INDEX CONCURRENTLY waits for while the other run holds the
 * lock — a deadlock (40P01). Between two tries this session is idle, with no snapshot. `signal` (fail-fast, Ctrl-C)
 * ends the wait with `stopped()`.
 */
export async function withNamespaceLock<T>(
  connection: Connection,
  namespace: string,
  signal: AbortSignal | undefined,
  stopped: () => Error,
  work: () => Promise<T>,
): Promise<T> {
  for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, LONGEST_WAIT_MS)) {
    const [row] = await connection.query<{locked: boolean}>(TRY_LOCK, [namespace])
    if (row!.locked) break
    if (signal?.aborted) throw stopped()
    // Jittered, so that runs waiting on one namespace do not try in step.
    await sleep(wait / 2 + Math.random() * wait, undefined, {signal}).catch(() => {})
    if (signal?.aborted) throw stopped()
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
