import {Flags} from '@oclif/core'

import {FanoutCommand} from '../cli/command.js'
import {mostWorkers, outputFlags, positiveCount} from '../cli/flags.js'
import type {Workers} from '../engine/index.js'
import {ExitCode} from '../report/exit-codes.js'
import {statusOf} from '../report/envelope.js'
import type {Envelope} from '../report/envelope.js'
import {Progress, progressMode} from '../report/progress.js'
import {openDatabase} from './database.js'
import type {Database} from './database.js'
import {loadMigrations} from './migration-files.js'
import type {Migration} from './migration-files.js'
import {selectNamespaces} from './namespaces.js'
import {runNamespaces} from './run-namespaces.js'
import type {NamespaceResult, RunOptions} from './run-namespaces.js'

/** The flags of every `fanout migrate` command: where the files are, which database, which namespaces. */
export const namespaceFlags = {
  dir: Flags.string({char: 'd', helpValue: '<dir>', default: 'migrations', summary: 'Directory of V<version>__<description>.sql files.'}),
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
  workers: positiveCount({char: 'w', default: 8, summary: 'Namespaces worked on at once (and the size of the connection pool).'}),
  all: Flags.boolean({summary: 'List every namespace, not only the exceptions, when there are more than 50.'}),
  ...outputFlags,
}

export type NamespaceFlags = {
  dir: string
  database?: string
  namespaces?: string
  'namespaces-file'?: string
  'namespace-pattern'?: string
  'namespaces-query'?: string
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

  protected async prepare(flags: NamespaceFlags, fallback?: 'managed'): Promise<{migrations: Migration[]; namespaces: string[]}> {
    const migrations = await loadMigrations(flags.dir)
    this.db = await openDatabase(flags.database, mostWorkers(flags.workers))
    const namespaces = await selectNamespaces(
      this.db,
      {names: flags.namespaces, file: flags['namespaces-file'], pattern: flags['namespace-pattern'], query: flags['namespaces-query']},
      fallback,
    )
    return {migrations, namespaces}
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
