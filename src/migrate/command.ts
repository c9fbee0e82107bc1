import {Flags} from '@oclif/core'

import {FanoutCommand} from '../cli/command.js'
import {UsageError} from '../cli/errors.js'
import {duration, mostWorkers, outputFlags, positiveCount} from '../cli/flags.js'
import type {Outcome, Workers} from '../engine/index.js'
import {ExitCode} from '../report/exit-codes.js'
import {statusOf} from '../report/envelope.js'
import type {Envelope} from '../report/envelope.js'
import {Progress, progressMode} from '../report/progress.js'
import type {Database} from './database.js'
import {loadMigrations, withSession} from './migration-files.js'
import type {Migration} from './migration-files.js'
import {HistoryReader} from './history-reader.js'
import {FLYWAY_TABLE, HISTORY_TABLE, checksummedFor, historyFormat} from './history.js'
import type {HistoryFormat} from './history.js'
import {databaseUrls, openFleet, summariseDatabases, withDatabases} from './databases.js'
import type {FleetDatabase} from './databases.js'
import type {Target} from './fleet-queue.js'
import {asksDatabase, distinctNamespaces, emptySelection, listedNamespaces, selectNamespaces} from './namespaces.js'
import {placeholderValues} from './placeholder-values.js'
import {renderDatabases} from './render.js'
import {runNamespaces} from './run-namespaces.js'
import type {NamespaceResult, RunOptions} from './run-namespaces.js'

/** The flags of every `fanout migrate` command: where the files are, which database, which namespaces. */
export const namespaceFlags = {
  dir: Flags.string({char: 'd', helpValue: '<dir>', default: 'migrations', summary: 'Directory of V<version>__<description>.sql files (subfolders too), R__ and B__ ones.'}),
  placeholder: Flags.string({
    char: 'p',
    helpValue: '<key=value>',
    multiple: true,
    multipleNonGreedy: true,
    summary: 'A value for ${key} in the migrations (repeatable); overrides fanout.yaml.',
  }),
  config: Flags.string({helpValue: '<file>', summary: 'YAML file with a placeholders: map (default: ./fanout.yaml when it exists).'}),
  database: Flags.string({
    helpValue: '<url>',
    multiple: true,
    multipleNonGreedy: true,
    summary: 'postgres://user@host:port/db, pglite://PATH or pglite://memory; repeatable: the namespaces are selected in each database, results read db/namespace.',
    defaultHelp: async () => 'PGlite in ./.fanout/pglite (no server needed)',
    env: 'FANOUT_DATABASE',
  }),
  'databases-file': Flags.string({helpValue: '<file>', summary: 'Database URLs, one a line (# comments; - for stdin), besides any --database.'}),
  namespaces: Flags.string({char: 'n', helpValue: '<a,b,c>', summary: 'Namespaces (schemas), comma-separated.'}),
  'namespaces-file': Flags.string({helpValue: '<file>', summary: 'Namespaces, one a line (# comments).'}),
  'namespace-pattern': Flags.string({helpValue: "<'tenant_%'>", summary: 'Every existing schema whose name is LIKE this.'}),
  'namespaces-query': Flags.string({helpValue: "<'SELECT …'>", summary: 'The first column of this query\'s rows.'}),
  'history-table': Flags.string({
    helpValue: '<name>',
    default: HISTORY_TABLE,
    summary: `The history table in each namespace. ${FLYWAY_TABLE} (or any other name): Flyway's own table, read and continued with its columns and CRC32 checksums.`,
  }),
  workers: positiveCount({char: 'w', default: 8, summary: 'Namespaces worked on at once, over all databases (and the size of each connection pool).'}),
  'workers-per-database': positiveCount({
    helpValue: '<count>',
    summary: 'Namespaces worked on at once in any one database (and the size of its connection pool).',
    defaultHelp: async () => 'as --workers',
  }),
  all: Flags.boolean({summary: 'List every namespace, not only the exceptions, when there are more than 50.'}),
  ...outputFlags,
}

/** The flag of the commands that write under a namespace's lock: migrate, repair and baseline. */
export const lockFlags = {
  'lock-wait': duration({
    default: 600_000,
    defaultHelp: async () => '10m',
    summary:
      "The longest a namespace waits for its lock when another session holds it (another fanout migrate, a psql session); then it fails, naming that session's pid, application and what it runs. 0: fail at once.",
  }),
}

export type NamespaceFlags = {
  dir: string
  placeholder?: string[]
  config?: string
  database?: string[]
  'databases-file'?: string
  'workers-per-database'?: number
  namespaces?: string
  'namespaces-file'?: string
  'namespace-pattern'?: string
  'namespaces-query'?: string
  'history-table': string
  workers: Workers
  quiet: boolean
}

/** What `prepare` hands each command: the files, the history table, and every namespace of every database. */
export interface Prepared {
  /** Read and checked; for `fanout migrate`, with the session values of the first database. */
  migrations: Migration[]
  history: HistoryFormat
  /** Database by database, namespaces in the order selected. */
  targets: Target[]
}

/**
 * What `migrate`, `status`, `validate`, `repair` and `baseline` share: the migration files read and checked before
 * any database is touched, the databases opened, the namespaces selected in each, the work fanned out over all of
 * them with progress, and the databases closed whatever happens.
 */
export abstract class NamespacesCommand extends FanoutCommand {
  protected fleet: FleetDatabase[] = []
  /** The bound on each database's namespaces in flight (--workers-per-database, at most --workers). */
  private perDatabase = 1
  /** Per database, the migration files with its own ${flyway:user} and ${flyway:database} (fanout migrate). */
  private sessionFiles: Migration[][] = []

  /** Whether the run spans several databases, whose results then read `label/namespace`. */
  protected get several(): boolean {
    return this.fleet.length > 1
  }

  protected async prepare(flags: NamespaceFlags, fallback?: 'managed'): Promise<Prepared> {
    const history = historyFormat(identifier('--history-table', flags['history-table']))
    // Only `fanout migrate` runs the files' SQL; status, validate, repair and baseline read names and checksums.
    const runs = this.id === 'migrate'
    const files = checksummedFor(history, await loadMigrations(flags.dir, runs ? {placeholders: await placeholderValues(flags)} : undefined))
    if (flags['databases-file'] === '-' && flags['namespaces-file'] === '-') {
      throw new UsageError('--databases-file - and --namespaces-file - cannot both read stdin; give one of them as a file')
    }
    const urls = await databaseUrls(flags.database, flags['databases-file'])
    const most = mostWorkers(flags.workers)
    this.perDatabase = Math.min(flags['workers-per-database'] ?? most, most)
    this.fleet = await openFleet(urls ?? [undefined], this.perDatabase)
    const selection = {names: flags.namespaces, file: flags['namespaces-file'], pattern: flags['namespace-pattern'], query: flags['namespaces-query']}
    const listed = await listedNamespaces(selection)
    const selected = await Promise.all(
      this.fleet.map(async ({db}) => {
        if (db) return selectNamespaces(db, selection, listed, {fallback, historyTable: history.table, allowEmpty: this.several})
        // A database that cannot be reached fails the namespaces listed for it, or (a pattern, a query) itself.
        return asksDatabase(selection, fallback) ? [undefined] : distinctNamespaces(listed)
      }),
    )
    const targets = selected.flatMap((namespaces, database) =>
      namespaces.map((namespace) => ({database, namespace: namespace ?? '', target: this.targetName(database, namespace)})),
    )
    if (targets.length === 0) {
      throw emptySelection(`any of the ${this.fleet.length} databases`, Object.values(selection).some((value) => value !== undefined), fallback, history.table)
    }
    this.sessionFiles = runs ? await Promise.all(this.fleet.map(async ({db}) => (db ? withSession(files, await session(db)) : files))) : []
    return {migrations: this.sessionFiles.find((_, database) => this.fleet[database]!.db) ?? files, history, targets}
  }

  /** The namespace alone on one database; `label/namespace` on several (the label alone: a database unreached). */
  private targetName(database: number, namespace: string | undefined): string {
    const {label} = this.fleet[database]!
    if (!this.several) return namespace!
    return namespace === undefined ? label : `${label}/${namespace}`
  }

  /** What --shard hashes: the namespace's name, and on several databases its database's URL (without password) too. */
  protected identity(target: Target): string {
    return this.several ? `${this.fleet[target.database]!.url}\n${target.namespace}` : target.namespace
  }

  /** The migration files as `fanout migrate` runs them in `database`. */
  protected migrationsIn(database: number): Migration[] {
    return this.sessionFiles[database]!
  }

  /** A history reader for each database that could be opened (status, validate), over its namespaces of `targets`. */
  protected readers(targets: Target[], history: HistoryFormat): (HistoryReader | undefined)[] {
    return this.fleet.map(({db}, database) => db && new HistoryReader(db, targets.filter((target) => target.database === database).map((target) => target.namespace), history))
  }

  /**
   * Runs `work` over the targets with a progress line; `detail` adds to it (migrations applied…). At most --workers
   * at once in all, and --workers-per-database in each database (PGlite among several: one, as its connection
   * takes turns).
   */
  protected async across<V extends object>(
    targets: Target[],
    work: (db: Database, namespace: string, signal: AbortSignal, database: number, deferIfBusy: () => boolean) => Promise<V>,
    options: RunOptions<V> & {
      quiet: boolean
      label?: string
      detail?: () => string
      follow?: (progress: Progress) => ((limit: number) => void) | undefined
      onSettle?: (index: number, outcome: Outcome<V>) => void
      onRevisit?: (database: number, namespaces: string[]) => void
      countRuns?: (database: number) => Promise<number>
    },
  ): Promise<Envelope<NamespaceResult<V>>> {
    const progress = new Progress(options.label ?? this.commandName, targets.length, progressMode(options.quiet))
    progress.detail = options.detail
    const fleet = this.fleet
    try {
      return await runNamespaces(
        this.commandName,
        targets,
        (target, signal, deferIfBusy) => {
          const {db, unreachable} = fleet[target.database]!
          if (!db) throw Object.assign(new Error(unreachable!.message), {code: unreachable!.code})
          return work(db, target.namespace, signal, target.database, deferIfBusy)
        },
        {
          ...options,
          // Alone, a PGlite database keeps --workers namespaces in flight (the next one's planning overlaps the
          // current one's turn: 10-15% faster here); among several, it takes one at a time rather than hold lanes
          // that wait for its one connection while other databases could use them.
          capacity: fleet.map(({db}) => (this.several ? Math.min(this.perDatabase, db?.sessions ?? this.perDatabase) : this.perDatabase)),
          fields: this.several ? (target) => ({database: fleet[target.database]!.label, ...(target.target === fleet[target.database]!.label ? {} : {namespace: target.namespace})}) : undefined,
          onLimit: options.follow?.(progress),
          signal: this.interruption.signal,
          onSettled: (slot, outcome) => {
            progress.settle(statusOf(outcome))
            options.onSettle?.(slot, outcome)
          },
        },
      )
    } finally {
      progress.stop()
    }
  }

  /**
   * Prints the report (or its JSON) and sets the exit code: 130 after Ctrl-C, else what `failed` says. On several
   * databases the report begins with each database's figures.
   */
  protected conclude<D extends Envelope<NamespaceResult<object>>>(report: D, json: boolean, text: () => string, failed: boolean): void {
    const databases = this.several ? summariseDatabases(this.fleet.map(({label, url, unreachable}) => ({database: label, url, error: unreachable})), report.results) : undefined
    const document = databases ? withDatabases(report, databases) : report
    this.report(json ? JSON.stringify(document) : [databases ? renderDatabases(databases) : '', text()].filter(Boolean).join('\n'))
    this.finish(report.interrupted ? ExitCode.interrupted : failed ? ExitCode.failed : ExitCode.ok)
  }

  override async finally(error: Error | undefined): Promise<void> {
    await Promise.all(this.fleet.map(({db}) => db?.close().catch(() => {})))
    return super.finally(error)
  }
}

/** What `${flyway:user}` and `${flyway:database}` stand for in `db`. */
function session(db: Database): Promise<{user: string; database: string}> {
  return db.withConnection(async (connection) => {
    const [row] = await connection.query<{user: string; database: string}>('SELECT current_user AS user, current_database() AS database')
    return row!
  })
}

/** A table name given on the command line: PostgreSQL's identifier rules, so that it is quoted, never pasted. */
function identifier(flag: string, name: string): string {
  if (name === '' || Buffer.byteLength(name) > 63 || /[\0-\x1f]/.test(name)) {
    throw new UsageError(`${flag}: "${name}" is not a table name PostgreSQL allows (1 to 63 bytes, no control characters); e.g. ${FLYWAY_TABLE}`)
  }
  return name
}
