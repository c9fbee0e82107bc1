import type {Connection} from './database.js'

// Keyed on the history table and the namespace: a lock per namespace, never one for the whole database.
const LOCK = "SELECT pg_advisory_lock(hashtext('fanout_schema_history'), hashtext($1))"
const UNLOCK = "SELECT pg_advisory_unlock(hashtext('fanout_schema_history'), hashtext($1))"

/**
 * Runs `work` holding the namespace's advisory lock, taken only around this namespace's own work: a second fanout
 * migrate on the same database waits for it, then finds the work done. (On PGlite the one connection, taken in
 * turn, is the lock.)
 */
export async function withNamespaceLock<T>(connection: Connection, namespace: string, work: () => Promise<T>): Promise<T> {
  await connection.query(LOCK, [namespace])
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
