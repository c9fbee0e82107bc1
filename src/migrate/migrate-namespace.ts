import {baselineRow} from './baseline.js'
import type {Connection, Database} from './database.js'
import {LockTaken, NamespaceFailure, NamespaceStopped} from './failures.js'
import type {Progress} from './failures.js'
import {hintFor} from './error-hints.js'
import {createHistorySql, markerSql, readState, recordSql, writableState} from './history.js'
import type {Applied, HistoryFormat, NamespaceState} from './history.js'
import {sourceLine, sqlFor, statementsFor} from './migration-files.js'
import type {Migration} from './migration-files.js'
import type {HistoryReader} from './history-reader.js'
import {dropIndexes, invalidIndexes} from './invalid-indexes.js'
import {withNamespaceLock} from './namespace-lock.js'
import {isRecorded, planFor} from './plan.js'
import {statementStart} from './sql-split.js'
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
  /** The longest a namespace's lock held by another session is waited for (--lock-wait). */
  lockWaitMs: number
  /** statement_timeout for each migration (0: the server's). */
  statementTimeoutMs: number
  /** Checked between migrations only: a migration once started always finishes, DDL is never killed midway. */
  signal: AbortSignal
  /**
   * The histories read ahead, many namespaces a query (READ ONLY, no lock): a namespace they show up to date is
   * reported so without its lock and the four round trips of the locked way (a fleet re-run on every deploy is
   * mostly such namespaces). Whatever else they show goes the locked way, which reads again under the lock.
   */
  readAhead?: HistoryReader
  /** The history table and its layout (fanout's or Flyway's); the migrations' checksums are this table's. */
  history: HistoryFormat
  /** --baseline-on-migrate: a namespace with objects but no history is first baselined at this version. */
  baselineOnMigrate?: string
  /** Given, consecutive transactional migrations go to the server as one query, which the latch can stop between two. */
  stop?: StopLatch
  onApplied?: (namespace: string, migration: Migration) => void
  /** Asked when another session holds the namespace's lock: true gives the namespace back for later (NamespaceBusy). */
  deferIfBusy?: () => boolean
}

/** A namespace's outcome: its version after the run, what was applied, and (dry run) what would be. */
export interface Migrated extends Progress {
  pending: string[]
}

/**
 * Brings one namespace up to date under its own lock. Each migration commits with its history row or not at all.
 * When the connection is lost mid-way (a terminated backend, a restarted server), what committed is read back on a
 * fresh connection, so that the report says exactly what the history holds.
 */
export async function migrateNamespace(db: Database, namespace: string, options: MigrateOptions): Promise<Migrated> {
  const known = options.readAhead && !options.dryRun ? await upToDate(options.readAhead, namespace, options) : undefined
  if (known) return known
  const progress: Migrated = {version: null, applied: [], pending: []}
  try {
    return await db.withConnection((connection) =>
      options.dryRun
        ? dryRun(connection, namespace, options)
        : withNamespaceLock(
            connection,
            namespace,
            {
              signal: options.signal,
              stopped: () => new NamespaceStopped(snapshot(progress)),
              longestMs: options.lockWaitMs,
              gaveUp: (message) => new LockTaken(message, snapshot(progress)),
              defer: options.deferIfBusy,
            },
            () => migrateLocked(connection, namespace, options, progress),
          ),
    )
  } catch (error) {
    if (error instanceof ConnectionLost) throw await settle(db, namespace, error, options, progress)
    if (!(error instanceof NamespaceFailure) && isLost(error)) throw await settle(db, namespace, new ConnectionLost(error, []), options, progress)
    throw error
  }
}

/**
 * The namespace as read ahead, when that shows nothing to do: a history with rows, in the current layout, every
 * applied file unchanged, none failed, nothing pending. A concurrent run can only add to such a history.
 */
async function upToDate(reader: HistoryReader, namespace: string, options: MigrateOptions): Promise<Migrated | undefined> {
  const state = await reader.state(namespace).catch(() => undefined)
  if (!state || state.outdated || state.history.length === 0) return undefined
  const plan = planFor(options.migrations, state.history, options.target)
  if (plan.pending.length > 0 || plan.failed || plan.drift.length > 0) return undefined
  return {version: plan.version, applied: [], pending: []}
}

/** Migrations sent when the connection was lost: whether each committed is known only to the history. */
class ConnectionLost extends Error {
  constructor(
    readonly error: unknown,
    readonly unsettled: Migration[],
  ) {
    super('connection lost')
  }
}

/** A connection-level failure: the server ended the session, or the socket went. */
function isLost(error: unknown): boolean {
  const {code, message} = error as {code?: unknown; message?: unknown}
  return (typeof code === 'string' && /^(08...|57P0[123]|E(CONNRESET|PIPE|TIMEDOUT))$/.test(code)) || /Connection terminated/i.test(String(message))
}

/** The failure of a namespace whose connection was lost, with its progress read back from the history. */
async function settle(db: Database, namespace: string, lost: ConnectionLost, options: MigrateOptions, progress: Migrated): Promise<NamespaceFailure> {
  const sqlstate = sqlstateOf(lost.error) ?? '08006'
  let history: Applied[]
  try {
    history = await db.withConnection(async (connection) => (await readState(connection, namespace, options.history)).history)
  } catch (error) {
    const at = lost.unsettled[0]?.script ?? namespace
    return new NamespaceFailure(
      `${at}: ${messageOf(lost.error)}; what committed could not be read back (${messageOf(error)}): fanout migrate status shows it`,
      snapshot(progress),
      sqlstate,
    )
  }
  let next = 0
  while (next < lost.unsettled.length && isRecorded(history, lost.unsettled[next]!)) markApplied(namespace, lost.unsettled[next++]!, options, progress)
  progress.version = planFor(options.migrations, history).version
  const failed = lost.unsettled[next]
  if (failed) return failureOf(lost.error, namespace, failed, '', 0, progress, sqlstate)
  const after = lost.unsettled.at(-1)
  return new NamespaceFailure(`${after ? `the connection was lost after ${after.script} committed` : 'the connection was lost'}: ${messageOf(lost.error)}`, snapshot(progress), sqlstate)
}

function snapshot(progress: Progress): Progress {
  return {version: progress.version, applied: [...progress.applied]}
}

async function dryRun(connection: Connection, namespace: string, options: MigrateOptions): Promise<Migrated> {
  const state = await readState(connection, namespace, options.history)
  if (!state.exists && !options.create) throw missing(namespace)
  const plan = checkedPlan(namespace, planFor(options.migrations, baselined(state, options) ?? state.history, options.target), options.outOfOrder)
  return {version: plan.version, applied: [], pending: plan.pending.map(nameOf)}
}

/** The baseline row --baseline-on-migrate gives a namespace that has objects and no history; else undefined. */
function baselined(state: NamespaceState, options: MigrateOptions): Applied[] | undefined {
  if (options.baselineOnMigrate === undefined || state.history.length > 0 || !state.hasObjects) return undefined
  return [baselineRow(options.baselineOnMigrate, options.history)]
}

/** How a migration is named in reports: its version, or a repeatable's script. */
function nameOf(migration: Migration): string {
  return migration.version ?? migration.script
}

async function migrateLocked(connection: Connection, namespace: string, options: MigrateOptions, progress: Migrated): Promise<Migrated> {
  const state = await writableState(connection, namespace, options.history)
  if (!state.exists && !options.create) throw missing(namespace)
  const baseline = baselined(state, options)
  const plan = checkedPlan(namespace, planFor(options.migrations, baseline ?? state.history, options.target), options.outOfOrder)
  progress.version = plan.version
  // A namespace new to fanout gets its schema and history table (and baseline) in its first migration's
  // transaction, or alone.
  let setup = state.hasHistory ? '' : `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(namespace)};\n${createHistorySql(namespace, options.history)};\n`
  if (baseline) setup += `${markerSql(namespace, options.history, baseline[0]!)};\n`
  if (options.transaction === 'namespace') {
    if (setup) await connection.exec(setup)
    if (plan.pending.length > 0) await applyAll(connection, namespace, plan.pending, options, progress)
    return progress
  }
  for (const batch of batchesOf(plan.pending, options.stop !== undefined)) {
    if (options.signal.aborted) throw new NamespaceStopped(progress)
    if (batchable(batch[0]!)) {
      await applyBatch(connection, namespace, batch, setup, options, progress)
    } else if (batch[0]!.transactional) {
      await applyInSteps(connection, namespace, batch[0]!, setup, options, progress)
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
    if (batched && last && batchable(migration) && batchable(last[0]!)) last.push(migration)
    else batches.push([migration])
  }
  return batches
}

/** A migration whose text can go to the server as it is: transactional, and no COPY data (which is not SQL) in it. */
function batchable(migration: Migration): boolean {
  return migration.transactional && migration.statements.every((statement) => statement.copyData === undefined)
}

/** A transactional migration holding COPY … FROM stdin: in its transaction, statement by statement, then its history row. */
async function applyInSteps(connection: Connection, namespace: string, migration: Migration, setup: string, options: MigrateOptions, progress: Progress) {
  await connection.exec(`BEGIN;\n${options.stop?.checkSql ?? ''}${setup}${START}${searchPath(namespace)}${statementTimeout(options)}`)
  const failure = await runOneByOne(connection, migration, namespace)
  if (failure !== undefined) {
    if (!(await isAlive(connection))) throw new ConnectionLost(failure, [migration])
    throw failureOf(failure, namespace, migration, sqlFor(migration, namespace), 0, progress)
  }
  try {
    await connection.exec(`${recordSql(namespace, migration, true, 'server', options.history)};\nCOMMIT`)
  } catch (error) {
    if (!(await isAlive(connection))) throw new ConnectionLost(error, [migration])
    throw failureOf(error, namespace, migration, '', 0, progress)
  }
  markApplied(namespace, migration, options, progress)
}

function markApplied(namespace: string, migration: Migration, options: MigrateOptions, progress: Progress): void {
  if (migration.version !== null) progress.version = migration.version
  progress.applied.push(nameOf(migration))
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

/** Is the connection still usable after an error? A lost one fails this too. */
async function isAlive(connection: Connection): Promise<boolean> {
  return connection.exec('ROLLBACK').then(
    () => true,
    () => false,
  )
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
    text += `BEGIN;\n${options.stop?.checkSql ?? ''}${i === 0 ? setup : ''}${START}${searchPath(namespace)}${statementTimeout(options)}`
    starts.push(text.length)
    // The newline ends a last line comment; the semicolon a last statement without one.
    text += `${sqls[i]}\n;\n${recordSql(namespace, migration, true, 'server', options.history)};\nCOMMIT;\n`
  }
  const {signal, stop} = options
  // A listener of this batch's own: every namespace in flight listens to the one run signal.
  const raise = () => stop?.raise()
  if (stop) signal.addEventListener('abort', raise)
  try {
    await connection.exec(text)
  } catch (error) {
    locateStatement(error, text)
    if (!(await isAlive(connection))) throw new ConnectionLost(error, batch)
    const committed = batch.length === 1 ? [] : await committedRows(connection, namespace, options.history)
    let failed = 0
    while (failed < batch.length && isRecorded(committed, batch[failed]!)) markApplied(namespace, batch[failed++]!, options, progress)
    if (StopLatch.stopped(error)) throw new NamespaceStopped(progress)
    const at = Math.min(failed, batch.length - 1)
    throw failureOf(error, namespace, batch[at]!, sqls[at]!, starts[at]!, progress)
  } finally {
    if (stop) signal.removeEventListener('abort', raise)
  }
  for (const migration of batch) markApplied(namespace, migration, options, progress)
}

/** What a namespace's history holds; nothing when it cannot be read. */
async function committedRows(connection: Connection, namespace: string, format: HistoryFormat): Promise<Applied[]> {
  try {
    return (await readState(connection, namespace, format)).history
  } catch {
    return []
  }
}

/**
 * A `-- fanout:no-transaction` migration runs as it is (PostgreSQL runs a multi-statement query in one implicit
 * transaction, so CREATE INDEX CONCURRENTLY belongs in a file of its own); a failure is recorded and blocks the
 * namespace until `migrate repair`, since part of it may have taken effect. INVALID indexes left by an earlier
 * attempt (its connection lost, so nothing was recorded) are dropped first: we hold the namespace's lock, so no
 * fanout run is building them.
 */
async function applyOutsideTransaction(connection: Connection, namespace: string, migration: Migration, options: MigrateOptions, progress: Progress) {
  await dropIndexes(connection, namespace, await invalidIndexes(connection, namespace))
  const timeout = options.statementTimeoutMs > 0 ? `; SET statement_timeout = ${Math.ceil(options.statementTimeoutMs)}` : ''
  await connection.exec(`SET search_path TO ${quoteIdent(namespace)}, public${timeout}`)
  const started = performance.now()
  const sql = sqlFor(migration, namespace)
  const failure = await runOneByOne(connection, migration, namespace)
  try {
    await connection.exec(`RESET search_path; RESET statement_timeout;\n${recordSql(namespace, migration, failure === undefined, performance.now() - started, options.history)}`)
  } catch (error) {
    if (isLost(error)) throw new ConnectionLost(failure ?? error, [migration])
    throw error
  }
  if (failure === undefined) return
  const left = await invalidIndexes(connection, namespace)
  const leftover = left.length === 0 ? '' : `; it left the INVALID index${left.length === 1 ? '' : 'es'} ${left.join(', ')}, which fanout migrate repair drops`
  throw failureOf(failure, namespace, migration, sql, 0, progress, undefined, leftover)
}

/**
 * A run-time error (no position of its own) of a query of several statements, as the position of the statement that
 * failed: the one after those the server completed. Kept apart from `position`, which means a syntax error.
 */
function locateStatement(error: unknown, text: string): void {
  const {position, completed} = error as {position?: string; completed?: number}
  if (position !== undefined || completed === undefined) return
  const start = statementStart(text, completed)
  if (start !== undefined) Object.assign(error as object, {statementPosition: String(start + 1)})
}

/**
 * Statement by statement, as Flyway runs a non-transactional migration: several in one query would make PostgreSQL
 * run them in one implicit transaction, which CREATE INDEX CONCURRENTLY refuses. The error of the failing one gets
 * a position in the whole file's text (its own, or its first character) so that the failure names its line.
 */
async function runOneByOne(connection: Connection, migration: Migration, namespace: string): Promise<unknown> {
  for (const statement of statementsFor(migration, namespace)) {
    try {
      await (statement.copy === undefined ? connection.exec(statement.sql) : connection.copyFrom(statement.sql, statement.copy))
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
    if (!batchable(migration)) {
      // COPY data is not SQL: statement by statement, in the one transaction.
      await connection.exec(START)
      const failure = await runOneByOne(connection, migration, namespace)
      if (failure === undefined) {
        await connection.exec(recordSql(namespace, migration, true, 'server', options.history))
        continue
      }
      if (!(await isAlive(connection))) throw new ConnectionLost(failure, [])
      throw failureOf(failure, namespace, migration, sql, 0, progress)
    }
    const text = `${START}${sql}\n;\n${recordSql(namespace, migration, true, 'server', options.history)}`
    try {
      await connection.exec(text)
    } catch (error) {
      locateStatement(error, text)
      if (!(await isAlive(connection))) throw new ConnectionLost(error, [])
      throw failureOf(error, namespace, migration, sql, START.length, progress)
    }
  }
  try {
    await connection.exec('COMMIT')
  } catch (error) {
    if (isLost(error)) throw new ConnectionLost(error, pending)
    throw failureOf(error, namespace, pending.at(-1)!, '', 0, progress)
  }
  for (const migration of pending) markApplied(namespace, migration, options, progress)
}

/** Each migration's own start, read by its history row: clock_timestamp(), not the start of the query or transaction. */
const START = "SELECT set_config('fanout.started', clock_timestamp()::text, true);\n"

function sqlstateOf(error: unknown): string | undefined {
  const code = (error as {code?: unknown})?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * `V3__add_email.sql line 4: column "x" does not exist (SQLSTATE 42703)`, with the progress made before it. `sql` is
 * the migration's text as sent for `namespace` (placeholders filled in), `offset` where it starts in the query; the
 * line is the file's own.
 */
function failureOf(error: unknown, namespace: string, migration: Migration, sql: string, offset: number, progress: Progress, sqlstate = sqlstateOf(error), more = ''): NamespaceFailure {
  const {code, position = (error as {statementPosition?: string}).statementPosition} = error as {code?: string; position?: string}
  let where = migration.script
  const at = Number(position) - 1 - offset
  if (at >= 0 && at < sql.length) where += ` line ${sourceLine(migration, namespace, at)}`
  const detail = sqlstateOf(error) ? ` (SQLSTATE ${sqlstateOf(error)})` : code ? ` (${code})` : ''
  return new NamespaceFailure(`${where}: ${messageOf(error)}${detail}${hintFor(error, sql, at)}${more}`, snapshot(progress), sqlstate ?? code)
}
