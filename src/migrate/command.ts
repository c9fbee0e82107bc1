import {Flags} from '@oclif/core'

import {FanoutCommand} from '../cli/command.js'
import {UsageError} from '../cli/errors.js'
import {mostWorkers, outputFlags, positiveCount} from '../cli/flags.js'
import type {Workers} from '../engine/index.js'
import {ExitCode} from '../report/exit-codes.js'
import {statusOf} from '../report/envelope.js'
import type {Envelope} from '../report/envelope.js'
import {Progress, progressMode} from '../report/progress.js'
import {openDatabase} from './database.js'
import type {Database} from './database.js'
import {loadMigrations, withSession} from './migration-files.js'
import type {Migration} from './migration-files.js'
import {FLYWAY_TABLE, HISTORY_TABLE, checksummedFor, historyFormat} from './history.js'
import type {HistoryFormat} from './history.js'
import {selectNamespaces} from './namespaces.js'
import {placeholderValues} from './placeholder-values.js'
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
    summary: 'postgres://user@host:port/db, pglite://PATH or pglite://memory.',
    defaultHelp: async () => 'PGlite in ./.fanout/pglite (no server needed)',
    env: 'FANOUT_DATABASE',
  }),
  namespaces: Flags.string({char: 'n', helpValue: '<a,b,c>', summary: 'Namespaces (schemas), comma-separated.'}),
  'namespaces-file': Flags.string({helpValue: '<file>', summary: 'Namespaces, one a line (# comments).'}),
  'namespace-pattern': Flags.string({helpValue: "<'tenant_%'>", summary: 'Every existing schema whose name is LIKE this.'}),
  'namespaces-query': Flags.string({helpValue: "<'SELECT …'>", summary: 'The first column of this query\'s rows.'}),
  'history-table': Flags.string({
    helpValue: '<name>',
    default: HISTORY_TABLE,
    summary: `The history table in each namespace. ${FLYWAY_TABLE} (or any other name): Flyway's own table, read and continued with its columns and CRC32 checksums.`,
  }),
  workers: positiveCount({char: 'w', default: 8, summary: 'Namespaces worked on at once (and the size of the connection pool).'}),
  all: Flags.boolean({summary: 'List every namespace, not only the exceptions, when there are more than 50.'}),
  ...outputFlags,
}

export type NamespaceFlags = {
  dir: string
  placeholder?: string[]
  config?: string
  database?: string
  namespaces?: string
  'namespaces-file'?: string
  'namespace-pattern'?: string
  'namespaces-query'?: string
  'history-table': string
  workers: Workers
  quiet: boolean
}

/**
 * What `migrate`, `status`, `validate` and `repair` share: the migration files read and checked before the
 * database is touched, the database opened, the namespaces selected, the work fanned out with progress, and the
 * database closed whatever happens.
 */
export abstract class NamespacesCommand extends FanoutCommand {
  protected db: Database | undefined

  /** The files (with the checksums the history table keeps), the history table, and the namespaces selected. */
  protected async prepare(flags: NamespaceFlags, fallback?: 'managed'): Promise<{migrations: Migration[]; history: HistoryFormat; namespaces: string[]}> {
    const history = historyFormat(identifier('--history-table', flags['history-table']))
    // Only `fanout migrate` runs the files' SQL; status, validate, repair and baseline read names and checksums.
    const runs = this.id === 'migrate'
    const files = checksummedFor(history, await loadMigrations(flags.dir, runs ? {placeholders: await placeholderValues(flags)} : undefined))
    this.db = await openDatabase(flags.database, mostWorkers(flags.workers))
    const migrations = runs ? withSession(files, await this.session()) : files
    const namespaces = await selectNamespaces(
      this.db,
      {names: flags.namespaces, file: flags['namespaces-file'], pattern: flags['namespace-pattern'], query: flags['namespaces-query']},
      fallback,
      history.table,
    )
    return {migrations, history, namespaces}
  }

  /** What `${flyway:user}` and `${flyway:database}` stand for. */
  private session(): Promise<{user: string; database: string}> {
    return this.db!.withConnection(async (connection) => {
      const [session] = await connection.query<{user: string; database: string}>('SELECT current_user AS user, current_database() AS database')
      return session!
    })
  }

  /** Runs `work` over the namespaces with a progress line; `detail` adds to it (migrations applied…). */
  protected async across<V extends object>(
    namespaces: string[],
    work: (namespace: string, signal: AbortSignal) => Promise<V>,
    options: RunOptions<V> & {quiet: boolean; label?: string; detail?: () => string; follow?: (progress: Progress) => ((limit: number) => void) | undefined},
  ): Promise<Envelope<NamespaceResult<V>>> {
    const progress = new Progress(options.label ?? this.commandName, namespaces.length, progressMode(options.quiet))
    progress.detail = options.detail
    try {
      return await runNamespaces(this.commandName, namespaces, work, {
        ...options,
        onLimit: options.follow?.(progress),
        signal: this.interruption.signal,
        onSettle: (index, outcome, namespace) => {
          progress.settle(statusOf(outcome))
          options.onSettle?.(index, outcome, namespace)
        },
      })
    } finally {
      progress.stop()
    }
  }

  /** Prints the report (or its JSON) and sets the exit code: 130 after Ctrl-C, else what `failed` says. */
  protected conclude(report: Envelope<NamespaceResult<object>>, json: boolean, text: () => string, failed: boolean): void {
    this.report(json ? JSON.stringify(report) : text())
    this.finish(report.interrupted ? ExitCode.interrupted : failed ? ExitCode.failed : ExitCode.ok)
  }

  override async finally(error: Error | undefined): Promise<void> {
    await this.db?.close().catch(() => {})
    return super.finally(error)
  }
}

/** A table name given on the command line: PostgreSQL's identifier rules, so that it is quoted, never pasted. */
function identifier(flag: string, name: string): string {
  if (name === '' || Buffer.byteLength(name) > 63 || /[\0-\x1f]/.test(name)) {
    throw new UsageError(`${flag}: "${name}" is not a table name PostgreSQL allows (1 to 63 bytes, no control characters); e.g. ${FLYWAY_TABLE}`)
  }
  return name
}
