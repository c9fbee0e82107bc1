import type {Connection} from './database.js'
import {HISTORY_LIMITS, compareVersions, segmentsOf} from './migration-files.js'
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

/**
 * One file per namespace: bounded columns leave it no TOAST table, and it has no index — it is read whole, and the
 * namespace's advisory lock, held by whoever writes it, keeps each version to one row.
 */
export function createHistorySql(namespace: string): string {
  const {description, script, version} = HISTORY_LIMITS
  return `CREATE TABLE IF NOT EXISTS ${historyTable(namespace)} (
  version varchar(${version}) NOT NULL,
  installed_rank integer NOT NULL,
  description varchar(${description}) NOT NULL,
  script varchar(${script}) NOT NULL,
  checksum varchar(64) NOT NULL,
  installed_by name NOT NULL DEFAULT current_user,
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
 * The INSERT that records a migration. `server`: sent in the same transaction as the migration, it reads the start
 * the migration's first statement set (`fanout.started`, a clock_timestamp()) and the server's clock now, so that
 * each of several migrations sent as one query gets its own start and duration; a number is a duration the caller
 * measured just before.
 */
export function recordSql(namespace: string, migration: Migration, success: boolean, timing: 'server' | number): string {
  const values = [migration.description, migration.script, migration.checksum].map(quoteLiteral)
  const started = "current_setting('fanout.started')::timestamptz"
  const [on, ms] =
    timing === 'server'
      ? [started, `(extract(epoch FROM clock_timestamp() - ${started}) * 1000)::integer`]
      : [`clock_timestamp() - interval '${Math.round(timing)} milliseconds'`, String(Math.round(timing))]
  const table = historyTable(namespace)
  return `INSERT INTO ${table} (version, installed_rank, description, script, checksum, installed_on, execution_ms, success)
VALUES (${quoteLiteral(migration.version!)}, (SELECT count(*) + 1 FROM ${table}), ${values.join(', ')}, ${on}, ${ms}, ${success})`
}
