import type {Connection, Database} from './database.js'
import {NamespaceFailure, NamespaceStopped} from './failures.js'
import type {Progress} from './failures.js'
import {createHistorySql, readState, recordSql} from './history.js'
import {sqlFor, statementsFor} from './migration-files.js'
import type {Migration} from './migration-files.js'
import {withNamespaceLock} from './namespace-lock.js'
import {planFor} from './plan.js'
import type {Plan} from './plan.js'
import {quoteIdent} from './sql.js'
import {StopLatch} from './stop-latch.js'

export interface MigrateOptions {
  migrations: Migration[]
  /** Apply up to this version (its segments); all when absent. */
  target?: number[]
  /** Create a namespace's schema when it does not exist. */
  create: boolean
  /** Read and plan only: no lock, no schema, no history table, nothing applied. */
  dryRun: boolean
  /** `migration`: each migration commits on its own. `namespace`: all of a namespace's pending ones in one transaction. */
  transaction: 'migration' | 'namespace'
  /** Apply pending migrations older than the highest applied one; else such a namespace fails, as with Flyway. */
  outOfOrder: boolean
  /** statement_timeout for each migration (0: the server's). */
  statementTimeoutMs: number
  /** Checked between migrations only: a migration once started always finishes, DDL is never killed midway. */
  signal: AbortSignal
  /** Given, consecutive transactional migrations go to the server as one query, which the latch can stop between two. */
  stop?: StopLatch
  onApplied?: (namespace: string, migration: Migration) => void
}

/** A namespace's outcome: its version after the run, what was applied, and (dry run) what would be. */
export interface Migrated extends Progress {
  pending: string[]
}

/** Brings one namespace up to date under its own lock. Each migration commits with its history row or not at all. */
export function migrateNamespace(db: Database, namespace: string, options: MigrateOptions): Promise<Migrated> {
  return db.withConnection((connection) =>
    options.dryRun ? dryRun(connection, namespace, options) : withNamespaceLock(connection, namespace, () => migrateLocked(connection, namespace, options)),
  )
}

async function dryRun(connection: Connection, namespace: string, options: MigrateOptions): Promise<Migrated> {
  const state = await readState(connection, namespace)
  if (!state.exists && !options.create) throw missing(namespace)
  const plan = checkedPlan(namespace, planFor(options.migrations, state.history, options.target), options.outOfOrder)
  return {version: plan.version, applied: [], pending: plan.pending.map((migration) => migration.version!)}
}

async function migrateLocked(connection: Connection, namespace: string, options: MigrateOptions): Promise<Migrated> {
  const state = await readState(connection, namespace)
  if (!state.exists && !options.create) throw missing(namespace)
  const plan = checkedPlan(namespace, planFor(options.migrations, state.history, options.target), options.outOfOrder)
  const progress: Migrated = {version: plan.version, applied: [], pending: []}
  // A namespace new to fanout gets its schema and history table in its first migration's transaction, or alone.
  let setup = state.hasHistory ? '' : `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(namespace)};\n${createHistorySql(namespace)};\n`
  if (options.transaction === 'namespace') {
    if (setup) await connection.exec(setup)
    if (plan.pending.length > 0) await applyAll(connection, namespace, plan.pending, options, progress)
    return progress
  }
  for (const batch of batchesOf(plan.pending, options.stop !== undefined)) {
    if (options.signal.aborted) throw new NamespaceStopped(progress)
    if (batch[0]!.transactional) {
      await applyBatch(connection, namespace, batch, setup, options, progress)
    } else {
      if (setup) await connection.exec(setup)
      await applyOutsideTransaction(connection, namespace, batch[0]!, options, progress)
      markApplied(namespace, batch[0]!, options, progress)
    }
    setup = ''
  }
  if (setup) await connection.exec(setup)
  return progress
}

/** Runs of transactional migrations make one batch each when a stop latch can end a batch between two; else one a batch. */
function batchesOf(pending: Migration[], batched: boolean): Migration[][] {
  const batches: Migration[][] = []
  for (const migration of pending) {
    const last = batches.at(-1)
    if (batched && last && migration.transactional && last[0]!.transactional) last.push(migration)
    else batches.push([migration])
  }
  return batches
}

function markApplied(namespace: string, migration: Migration, options: MigrateOptions, progress: Progress): void {
  progress.version = migration.version
  progress.applied.push(migration.version!)
  options.onApplied?.(namespace, migration)
}

function checkedPlan(namespace: string, plan: Plan, outOfOrder: boolean): Plan {
  const progress = {version: plan.version, applied: []}
  if (plan.failed) {
    throw new NamespaceFailure(
      `${plan.failed.script} failed earlier outside a transaction and may be half-applied; fix ${namespace} by hand, then run fanout migrate repair`,
      progress,
    )
  }
  if (plan.drift.length > 0) {
    const more = plan.drift.length > 1 ? ` (and ${plan.drift.length - 1} more)` : ''
    throw new NamespaceFailure(`${plan.drift[0]}${more}; restore the file, or accept it with fanout migrate repair`, progress)
  }
  const [older] = plan.outOfOrder
  if (older && !outOfOrder) {
    throw new NamespaceFailure(`${older.script} is older than the applied version ${plan.version} (a file added below it); --out-of-order applies it anyway`, progress)
  }
  return plan
}

function missing(namespace: string): NamespaceFailure {
  return new NamespaceFailure(`schema ${quoteIdent(namespace)} does not exist; --create-namespaces creates it`, {version: null, applied: []})
}

function statementTimeout(options: MigrateOptions): string {
  return options.statementTimeoutMs > 0 ? `SET LOCAL statement_timeout = ${Math.ceil(options.statementTimeoutMs)};\n` : ''
}

function searchPath(namespace: string): string {
  return `SET LOCAL search_path TO ${quoteIdent(namespace)}, public;\n`
}

/**
 * Each migration in a transaction of its own that commits with its history row: on error nothing of that migration
 * stays. A batch of several goes as one query (the server skips the rest of it after an error), so the history
 * says afterwards which of them committed.
 */
async function applyBatch(connection: Connection, namespace: string, batch: Migration[], setup: string, options: MigrateOptions, progress: Progress) {
  const sqls = batch.map((migration) => sqlFor(migration, namespace))
  const starts: number[] = []
  let text = ''
  for (const [i, migration] of batch.entries()) {
    text += `BEGIN;\n${options.stop?.checkSql ?? ''}${i === 0 ? setup : ''}${searchPath(namespace)}${statementTimeout(options)}`
    starts.push(text.length)
    // The newline ends a last line comment; the semicolon a last statement without one.
    text += `${sqls[i]}\n;\n${recordSql(namespace, migration, true, 'transaction')};\nCOMMIT;\n`
  }
  const {signal, stop} = options
  // A listener of this batch's own: every namespace in flight listens to the one run signal.
  const raise = () => stop?.raise()
  if (stop) signal.addEventListener('abort', raise)
  try {
    await connection.exec(text)
  } catch (error) {
    await connection.exec('ROLLBACK').catch(() => {})
    const committed = batch.length === 1 ? [] : await committedVersions(connection, namespace)
    let failed = 0
    while (failed < batch.length && committed.includes(batch[failed]!.version!)) markApplied(namespace, batch[failed++]!, options, progress)
    if (StopLatch.stopped(error)) throw new NamespaceStopped(progress)
    // All committed: the connection was lost after the last COMMIT was sent.
    const at = Math.min(failed, batch.length - 1)
    throw failureOf(error, batch[at]!, sqls[at]!, starts[at]!, progress)
  } finally {
    if (stop) signal.removeEventListener('abort', raise)
  }
  for (const migration of batch) markApplied(namespace, migration, options, progress)
}

/** The versions a namespace's history holds as applied; none when it cannot be read (the connection was lost…). */
async function committedVersions(connection: Connection, namespace: string): Promise<string[]> {
  try {
    return (await readState(connection, namespace)).history.filter((row) => row.success).map((row) => row.version)
  } catch {
    return []
  }
}

/**
 * A `-- fanout:no-transaction` migration runs as it is (PostgreSQL runs a multi-statement query in one implicit
 * transaction, so CREATE INDEX CONCURRENTLY belongs in a file of its own); a failure is recorded and blocks the
 * namespace until `migrate repair`, since part of it may have taken effect.
 */
async function applyOutsideTransaction(connection: Connection, namespace: string, migration: Migration, options: MigrateOptions, progress: Progress) {
  const timeout = options.statementTimeoutMs > 0 ? `; SET statement_timeout = ${Math.ceil(options.statementTimeoutMs)}` : ''
  await connection.exec(`SET search_path TO ${quoteIdent(namespace)}, public${timeout}`)
  const started = performance.now()
  const sql = sqlFor(migration, namespace)
  const failure = await runOneByOne(connection, migration, namespace)
  await connection.exec(`RESET search_path; RESET statement_timeout;\n${recordSql(namespace, migration, failure === undefined, performance.now() - started)}`)
  if (failure !== undefined) throw failureOf(failure, migration, sql, 0, progress)
}

/**
 * Statement by statement, as Flyway runs a non-transactional migration: several in one query would make PostgreSQL
 * run them in one implicit transaction, which CREATE INDEX CONCURRENTLY refuses. The error of the failing one gets
 * a position in the whole file's text (its own, or its first character) so that the failure names its line.
 */
async function runOneByOne(connection: Connection, migration: Migration, namespace: string): Promise<unknown> {
  for (const statement of statementsFor(migration, namespace)) {
    try {
      await connection.exec(statement.sql)
    } catch (error) {
      const position = Number((error as {position?: string}).position)
      return Object.assign(error as object, {position: String(statement.offset + (position > 0 ? position : 1))})
    }
  }
  return undefined
}

/** --transaction namespace: every pending migration, or none, in one transaction. */
async function applyAll(connection: Connection, namespace: string, pending: Migration[], options: MigrateOptions, progress: Progress) {
  await connection.exec(`BEGIN;\n${searchPath(namespace)}${statementTimeout(options)}`)
  for (const migration of pending) {
    const sql = sqlFor(migration, namespace)
    try {
      await connection.exec(`${sql}\n;\n${recordSql(namespace, migration, true, 'query')}`)
    } catch (error) {
      await connection.exec('ROLLBACK').catch(() => {})
      throw failureOf(error, migration, sql, 0, progress)
    }
  }
  try {
    await connection.exec('COMMIT')
  } catch (error) {
    throw failureOf(error, pending.at(-1)!, '', 0, progress)
  }
  for (const migration of pending) markApplied(namespace, migration, options, progress)
}

/** `V3__add_email.sql line 4: column "x" does not exist (SQLSTATE 42703)`, with the progress made before it. */
function failureOf(error: unknown, migration: Migration, sql: string, offset: number, progress: Progress): NamespaceFailure {
  const {message, code, position} = error as {message?: string; code?: string; position?: string}
  let where = migration.script
  const at = Number(position) - 1 - offset
  if (at >= 0 && at < sql.length) where += ` line ${sql.slice(0, at).split('\n').length}`
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  const detail = sqlstate ? ` (SQLSTATE ${sqlstate})` : code ? ` (${code})` : ''
  return new NamespaceFailure(`${where}: ${message ?? String(error)}${detail}`, {version: progress.version, applied: [...progress.applied]}, sqlstate ?? code)
}
