import type {Connection} from './database.js'
import {compareVersions, segmentsOf} from './migration-files.js'
import type {Migration} from './migration-files.js'
import {quoteIdent, quoteLiteral} from './sql.js'

/** One row of a namespace's fanout_schema_history. */
export interface Applied {
  version: string
  segments: number[]
  script: string
  checksum: string
  success: boolean
}

export const HISTORY_TABLE = 'fanout_schema_history'

export function historyTable(namespace: string): string {
  return `${quoteIdent(namespace)}.${HISTORY_TABLE}`
}

export function createHistorySql(namespace: string): string {
  return `CREATE TABLE IF NOT EXISTS ${historyTable(namespace)} (
  version text PRIMARY KEY,
  installed_rank integer NOT NULL,
  description text NOT NULL,
  script text NOT NULL,
  checksum text NOT NULL,
  installed_by text NOT NULL DEFAULT current_user,
  installed_on timestamptz NOT NULL DEFAULT now(),
  execution_ms integer NOT NULL,
  success boolean NOT NULL
)`
}

export interface NamespaceState {
  exists: boolean
  hasHistory: boolean
  /** Empty when the namespace has no history table yet. */
  history: Applied[]
}

/** Whether the namespace exists and what its history says, in two round trips at most. */
export async function readState(connection: Connection, namespace: string): Promise<NamespaceState> {
  const [found] = await connection.query<{exists: boolean; history: boolean}>(
    'SELECT to_regnamespace($1) IS NOT NULL AS exists, to_regclass($2) IS NOT NULL AS history',
    [quoteIdent(namespace), historyTable(namespace)],
  )
  if (!found!.history) return {exists: found!.exists, hasHistory: false, history: []}
  return {exists: true, hasHistory: true, history: await readHistory(connection, namespace)}
}

async function readHistory(connection: Connection, namespace: string): Promise<Applied[]> {
  const rows = await connection.query<Omit<Applied, 'segments'>>(
    `SELECT version, script, checksum, success FROM ${historyTable(namespace)} ORDER BY installed_rank`,
  )
  return rows
    .map((row) => ({...row, segments: segmentsOf(row.version)}))
    .sort((a, b) => compareVersions(a.segments, b.segments))
}

/**
 * The INSERT that records a migration. Sent in the same simple query as a transactional migration, it reads the
 * execution time on the server, from the query's start to this statement.
 */
export function recordSql(namespace: string, migration: Migration, success: boolean, executionMs?: number): string {
  const values = [migration.description, migration.script, migration.checksum].map(quoteLiteral)
  const ms = executionMs === undefined ? '(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer' : Math.round(executionMs)
  const table = historyTable(namespace)
  return `INSERT INTO ${table} (version, installed_rank, description, script, checksum, execution_ms, success)
VALUES (${quoteLiteral(migration.version)}, (SELECT count(*) + 1 FROM ${table}), ${values.join(', ')}, ${ms}, ${success})`
}
