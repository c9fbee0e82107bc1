import {crc32} from 'node:zlib'

import type {Connection} from './database.js'
import {HISTORY_LIMITS, segmentsOf} from './migration-files.js'
import type {Migration} from './migration-files.js'
import {quoteIdent, quoteLiteral} from './sql.js'

/**
 * A row's type, as Flyway names them: `SQL` a versioned or repeatable migration, `BASELINE` the marker `migrate
 * baseline` writes, `SQL_BASELINE` a B__ file, `DELETE` repair's note that an applied migration's file is gone on
 * purpose. (Flyway also writes `SCHEMA` when it created the schema; such rows are read and skipped.)
 */
export type RowType = 'SQL' | 'BASELINE' | 'SQL_BASELINE' | 'DELETE' | (string & {})

/** One row of a namespace's history table. */
export interface Applied {
  /** Null for a repeatable migration. */
  version: string | null
  segments: number[]
  description: string
  type: RowType
  script: string
  /** Null for a baseline marker. */
  checksum: string | null
  success: boolean
}

export const HISTORY_TABLE = 'fanout_schema_history'
export const FLYWAY_TABLE = 'flyway_schema_history'

/**
 * Where and how a namespace's history is kept: fanout's own table, or Flyway's (its column layout, CRC32 checksums),
 * so that a fleet Flyway migrated goes on with fanout without re-applying anything.
 */
export interface HistoryFormat {
  readonly table: string
  readonly flyway: boolean
  /** The baseline marker's description and script. */
  readonly baselineName: string
}

export function historyFormat(table = HISTORY_TABLE): HistoryFormat {
  const flyway = table !== HISTORY_TABLE
  return {table, flyway, baselineName: flyway ? '<< Flyway Baseline >>' : '<< fanout baseline >>'}
}

export const FANOUT_HISTORY = historyFormat()

/**
 * The files as `format`'s table records them: for Flyway's, each checksum is Flyway's — the CRC32 of the file's
 * UTF-8 lines without their line endings (a BOM is already stripped), as a signed 32-bit integer.
 */
export function checksummedFor(format: HistoryFormat, migrations: Migration[]): Migration[] {
  if (!format.flyway) return migrations
  return migrations.map((migration) => ({...migration, checksum: String(flywayChecksum(migration.sql))}))
}

export function flywayChecksum(text: string): number {
  const lines = text.split(/\r\n|\r|\n/)
  if (lines.at(-1) === '') lines.pop() // a last line ending starts no line of its own
  let crc = 0
  for (const line of lines) crc = crc32(Buffer.from(line, 'utf8'), crc)
  return crc | 0
}

export function historyTable(namespace: string, format: HistoryFormat): string {
  return `${quoteIdent(namespace)}.${quoteIdent(format.table)}`
}

/**
 * fanout's table is one file per namespace: bounded columns leave it no TOAST table, and it has no index — it is
 * read whole, and the namespace's advisory lock, held by whoever writes it, keeps each version to one row. Flyway's
 * is created as Flyway creates it (primary key on installed_rank, an index on success).
 */
export function createHistorySql(namespace: string, format: HistoryFormat): string {
  const table = historyTable(namespace, format)
  if (format.flyway) {
    return `CREATE TABLE IF NOT EXISTS ${table} (
  installed_rank integer NOT NULL CONSTRAINT ${quoteIdent(`${format.table}_pk`)} PRIMARY KEY,
  version varchar(50),
  description varchar(200) NOT NULL,
  type varchar(20) NOT NULL,
  script varchar(1000) NOT NULL,
  checksum integer,
  installed_by varchar(100) NOT NULL,
  installed_on timestamp NOT NULL DEFAULT now(),
  execution_time integer NOT NULL,
  success boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS ${quoteIdent(`${format.table}_s_idx`)} ON ${table} (success)`
  }
  const {description, script, version} = HISTORY_LIMITS
  return `CREATE TABLE IF NOT EXISTS ${table} (
  version varchar(${version}),
  installed_rank integer NOT NULL,
  description varchar(${description}) NOT NULL,
  type varchar(12) NOT NULL,
  script varchar(${script}) NOT NULL,
  checksum varchar(64),
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
  /** Whether the schema holds any object besides the history table: a relation, function, type… (for --baseline-on-migrate). */
  hasObjects: boolean
  /** fanout's table in an earlier fanout's layout (no `type` column): read as it is, upgraded before a write. */
  outdated: boolean
}

/**
 * Whether the namespace exists and what its history says, in two round trips at most. Reads an outdated table as
 * it is and changes nothing: `status` and `validate` call it in READ ONLY transactions.
 */
export async function readState(connection: Connection, namespace: string, format: HistoryFormat): Promise<NamespaceState> {
  const [found] = await connection.query<{exists: boolean; history: boolean; typed: boolean; objects: boolean}>(
    // Objects are read from what depends on the schema (what DROP SCHEMA … CASCADE would drop), by pg_depend's index:
    // pg_class has no index on relnamespace alone, and scanning it for every namespace cost a few ms each at 1,000
    // namespaces and grew with the fleet (its rows are every namespace's tables and indexes). Indexes, constraints
    // and row types depend on their table, not the schema: the history table's own do not count.
    `SELECT to_regnamespace($1) IS NOT NULL AS exists, to_regclass($2) IS NOT NULL AS history, ${typedSql('$2')} AS typed,
       EXISTS (SELECT 1 FROM pg_depend WHERE refclassid = 'pg_namespace'::regclass AND refobjid = to_regnamespace($1) AND deptype = 'n'
         AND NOT (classid = 'pg_class'::regclass AND objid IS NOT DISTINCT FROM to_regclass($2))) AS objects`,
    [quoteIdent(namespace), historyTable(namespace, format)],
  )
  const {exists, history, typed, objects} = found!
  if (!history) return {exists, hasHistory: false, history: [], hasObjects: objects, outdated: false}
  const rows = rowsOf(await connection.query<Row>(selectHistorySql(namespace, format, '', typed)))
  return {exists: true, hasHistory: true, history: rows, hasObjects: objects, outdated: !typed}
}

/**
 * SQL: whether the history table the text expression `table` names has a `type` column. Every fanout table before
 * repeatable migrations and baselines lacked it; Flyway's has always had one.
 */
export function typedSql(table: string): string {
  return `EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(${table}) AND attname = 'type' AND NOT attisdropped)`
}

/**
 * The state of a namespace about to be written, under its lock: an outdated table is first upgraded in place (see
 * upgradeSql), so that rows with a type, a null version or a null checksum can go in.
 */
export async function writableState(connection: Connection, namespace: string, format: HistoryFormat): Promise<NamespaceState> {
  const state = await readState(connection, namespace, format)
  if (!state.outdated) return state
  await connection.exec(await upgradeSql(connection, namespace, format))
  return {...state, outdated: false}
}

/**
 * One transaction bringing an earlier fanout's table to today's layout without touching its rows: a `type` column
 * (every row an earlier fanout wrote ran a versioned file: `SQL`), and version and checksum made nullable (a
 * repeatable migration has no version, a baseline marker no checksum), which for the layout that keyed the table
 * on version means dropping that primary key (the namespace's lock keeps versions to one row, as for a new table).
 * Each step is idempotent and ALTER TABLE takes the table's ACCESS EXCLUSIVE lock, so even two upgrades at once end
 * in the same table; under the namespace's advisory lock, which every fanout version takes, there is only one.
 * The column keeps its DEFAULT 'SQL', so that an earlier fanout still running against the table (which names no
 * type) writes valid rows.
 */
async function upgradeSql(connection: Connection, namespace: string, format: HistoryFormat): Promise<string> {
  const table = historyTable(namespace, format)
  const keys = await connection.query<{name: string}>(
    `SELECT conname AS name FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE c.conrelid = to_regclass($1) AND c.contype = 'p' AND a.attname = 'version'`,
    [table],
  )
  return `BEGIN;
ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS type varchar(12) NOT NULL DEFAULT 'SQL';
${keys.map((key) => `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(key.name)};\n`).join('')}ALTER TABLE ${table} ALTER COLUMN version DROP NOT NULL, ALTER COLUMN checksum DROP NOT NULL;
COMMIT`
}

type Row = Omit<Applied, 'segments'>

/**
 * The history as fanout reads it, whichever table it is; `extra` columns come first (a namespace's name). An
 * outdated table (`typed` false) has no type column: each of its rows recorded a versioned file.
 */
export function selectHistorySql(namespace: string, format: HistoryFormat, extra = '', typed = true): string {
  return `SELECT ${extra}installed_rank, version, description, ${typed ? 'type' : "'SQL'::text AS type"}, script, checksum::text AS checksum, success FROM ${historyTable(namespace, format)}`
}

/** Rows in the order they were written; Flyway's schema-creation row skipped. */
export function rowsOf(rows: (Row & {installed_rank?: number})[]): Applied[] {
  return rows
    .filter((row) => row.type !== 'SCHEMA')
    .sort((a, b) => (a.installed_rank ?? 0) - (b.installed_rank ?? 0))
    .map(({version, description, type, script, checksum, success}) => ({version, description, type, script, checksum, success, segments: version === null ? [] : segmentsOf(version)}))
}

/** The row's type for a migration file. */
function typeOf(migration: Migration): RowType {
  return migration.kind === 'baseline' ? 'SQL_BASELINE' : 'SQL'
}

/**
 * The INSERT that records a migration. `server`: sent in the same transaction as the migration, it reads the start
 * the migration's first statement set (`fanout.started`, a clock_timestamp()) and the server's clock now, so that
 * each of several migrations sent as one query gets its own start and duration; a number is a duration the caller
 * measured just before.
 */
export function recordSql(namespace: string, migration: Migration, success: boolean, timing: 'server' | number, format: HistoryFormat): string {
  const started = "current_setting('fanout.started')::timestamptz"
  const [on, ms] =
    timing === 'server'
      ? [started, `(extract(epoch FROM clock_timestamp() - ${started}) * 1000)::integer`]
      : [`clock_timestamp() - interval '${Math.round(timing)} milliseconds'`, String(Math.round(timing))]
  return insertSql(namespace, format, {...migration, type: typeOf(migration), success}, on, ms)
}

/** A row that records no run of a file: a baseline marker, or repair's note that a file is gone. */
export function markerSql(namespace: string, format: HistoryFormat, row: Omit<Applied, 'segments' | 'success'>): string {
  return insertSql(namespace, format, {...row, success: true}, 'clock_timestamp()', '0')
}

function insertSql(namespace: string, format: HistoryFormat, row: Omit<Applied, 'segments'>, on: string, ms: string): string {
  const table = historyTable(namespace, format)
  const literal = (value: string | null) => (value === null ? 'NULL' : quoteLiteral(value))
  const checksum = row.checksum === null ? 'NULL' : format.flyway ? `${literal(row.checksum)}::integer` : literal(row.checksum)
  const duration = format.flyway ? 'execution_time' : 'execution_ms'
  return `INSERT INTO ${table} (installed_rank, version, description, type, script, checksum, installed_by, installed_on, ${duration}, success)
VALUES ((SELECT coalesce(max(installed_rank), 0) + 1 FROM ${table}), ${literal(row.version)}, ${literal(row.description)}, ${literal(row.type)}, ${literal(row.script)}, ${checksum}, current_user, ${on}, ${ms}, ${row.success})`
}
