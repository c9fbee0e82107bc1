import type {Connection} from './database.js'
import {quoteIdent} from './sql.js'

/**
 * INVALID indexes of the namespace that no one is building: what a CREATE INDEX CONCURRENTLY that failed or lost its
 * connection leaves behind. `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would keep such an index silently.
 */
const INVALID_INDEXES = `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relnamespace = to_regnamespace($1) AND NOT i.indisvalid
  AND i.indexrelid NOT IN (SELECT index_relid FROM pg_stat_progress_create_index WHERE index_relid IS NOT NULL)
ORDER BY c.relname`

export async function invalidIndexes(connection: Connection, namespace: string): Promise<string[]> {
  return (await connection.query<{relname: string}>(INVALID_INDEXES, [quoteIdent(namespace)])).map((row) => row.relname)
}

/** Drops them one by one, outside a transaction (DROP INDEX CONCURRENTLY takes no lock that blocks writes). */
export async function dropIndexes(connection: Connection, namespace: string, indexes: string[]): Promise<void> {
  for (const index of indexes) await connection.exec(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(namespace)}.${quoteIdent(index)}`)
}
