import {Flags} from '@oclif/core'

import {UsageError} from '../src/cli/errors.js'
import {count, duration, engineFlags, followLimit, metricsFlags, modeOf, workersFlag} from '../src/cli/flags.js'
import {parseCount} from '../src/cli/values.js'
import {NamespacesCommand, lockFlags, namespaceFlags} from '../src/migrate/command.js'
import {versionOf} from '../src/migrate/baseline.js'
import {migrateNamespace} from '../src/migrate/migrate-namespace.js'
import {runsAt} from '../src/migrate/namespace-lock.js'
import {parseVersion} from '../src/migrate/migration-files.js'
import {renderMigrate} from '../src/migrate/render.js'
import {shardFlags, shardSpecOf} from '../src/shard/flags.js'
import {Sharding, describeShard, stamped} from '../src/shard/stamp.js'

const waves = Flags.custom<number[]>({
  helpValue: '<1,10>',
  parse: async (input) => {
    const sizes = input.split(',').map((part) => {
      try {
        return parseCount(part)
      } catch {
        return 0
      }
    })
    if (sizes.some((size) => size < 1)) throw new UsageError(`--waves expects wave sizes like 1,10 (each at least 1); got "${input}"`)
    return sizes
  },
})

export default class Migrate extends NamespacesCommand {
  static override summary = 'Apply versioned SQL migrations across many namespaces (PostgreSQL schemas) at once.'

  static override description = [
    'Files are V<version>__<description>.sql (Flyway naming; 1.2 < 1.10), applied in version order to each namespace, with ${namespace} (and --placeholder values) filled in safely for where each stands. Each migration runs in its own transaction with SET LOCAL search_path to the namespace, and commits together with its row in <namespace>.fanout_schema_history — a failed one leaves the namespace at its last good version, never half-applied. A file holding a statement PostgreSQL refuses in a transaction (CREATE INDEX CONCURRENTLY, VACUUM…, read from the parsed SQL), or whose first line is "-- fanout:no-transaction", runs outside one, statement by statement; if it fails it is recorded and blocks the namespace until fanout migrate repair.',
    'Repeatable R__ files run after the versioned ones, again whenever they change. --history-table flyway_schema_history continues a table Flyway keeps; --baseline-on-migrate baselines namespaces that have objects but no history (see fanout migrate baseline).',
    'Namespaces are worked on in parallel (--workers), each under its own advisory lock (polled, so that runs at once never deadlock on CREATE INDEX CONCURRENTLY): two or three runs on one database never apply a migration twice. --fail-fast (default): the first failure cancels namespaces not started; those in flight finish their current migration and stop. --keep-going: every other namespace goes on. Re-running resumes each namespace where it stopped.',
    'The database is PostgreSQL (--database postgres://…) or, with no --database, PGlite kept in ./.fanout/pglite: no server needed.',
    'Several databases (--database repeated, --databases-file): the namespaces are selected in each and results read database/namespace, after a table of each database\'s figures; --workers bounds the namespaces in flight over all databases, --workers-per-database in each (one pool each), --waves counts over all. A database that cannot be reached fails its namespaces (exit 1; the others go on under --keep-going). The same flags, and the per-database table, on status, validate, repair and baseline.',
    'Exit codes: 0 every namespace migrated; 1 some failed or were cancelled (or a database of several was unreachable); 2 bad usage, files, database or selection (nothing ran); 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = [
    {description: 'Migrate every tenant schema, 16 at a time:', command: "<%= config.bin %> migrate --dir migrations --database postgres://app@db:5432/app --namespace-pattern 'tenant_%' --workers 16"},
    {description: 'A canary: one namespace, then ten, then the rest; stop between waves on failure:', command: '<%= config.bin %> migrate --namespaces-file tenants.txt --waves 1,10'},
    {description: 'Every tenant schema of each database listed, 4 at a time in any one database:', command: "<%= config.bin %> migrate --databases-file databases.txt --namespace-pattern 'tenant_%' --workers 32 --workers-per-database 4"},
    {description: 'See what would be applied:', command: '<%= config.bin %> migrate --namespaces-file tenants.txt --dry-run'},
    {description: 'On the embedded PGlite, creating the schemas:', command: '<%= config.bin %> migrate --dir fixtures/migrations --namespaces-file fixtures/migrations/tenants.txt --create-namespaces'},
  ]

  static override flags = {
    ...engineFlags({workers: 8, mode: 'fail-fast'}),
    ...namespaceFlags,
    ...lockFlags,
    workers: workersFlag(8, 'Namespaces worked on at once, over all databases (and the size of each connection pool: with auto, its MAX).'),
    timeout: duration({summary: 'statement_timeout for each migration (0: the server\'s).', default: 0, defaultHelp: async () => '0'}),
    retries: count({summary: 'Extra attempts for a namespace after a passing failure (lost connection, deadlock); a SQL error is not retried.', default: 0}),
    target: Flags.string({helpValue: '<version>', summary: 'Apply migrations up to this version only.'}),
    waves: waves({summary: 'Canary waves: e.g. 1,10 migrates 1 namespace, then 10, then the rest, stopping between waves on failure.'}),
    'dry-run': Flags.boolean({summary: 'Show what would be applied to each namespace; change nothing.'}),
    'create-namespaces': Flags.boolean({summary: 'Create schemas that do not exist (else they fail).'}),
    'out-of-order': Flags.boolean({summary: 'Apply pending migrations older than a namespace\'s version (else that namespace fails).'}),
    transaction: Flags.string({
      options: ['migration', 'namespace'],
      default: 'migration',
      summary: 'migration: each commits on its own. namespace: all of a namespace\'s pending migrations in one transaction (all or nothing; not with no-transaction files).',
    }),
    'baseline-on-migrate': Flags.boolean({summary: 'Baseline namespaces that have objects but no history table before migrating them (see fanout migrate baseline).'}),
    'baseline-version': Flags.string({helpValue: '<version>', summary: 'The version --baseline-on-migrate records (default 1, as Flyway): migrations up to it are never applied there.', dependsOn: ['baseline-on-migrate']}),
    // Only migrate changes the fleet; status, validate and repair take no metrics flags.
    ...metricsFlags,
    'metrics-per-namespace': Flags.boolean({summary: 'Label metrics by namespace (one series each; mind the cardinality).'}),
    ...shardFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Migrate)
    const target = flags.target === undefined ? undefined : parseVersion(flags.target)
    const baselineVersion = flags['baseline-on-migrate'] ? versionOf('--baseline-version', flags['baseline-version'] ?? '1') : undefined
    const sharding = new Sharding(shardSpecOf(flags))
    const prepared = await this.prepare(flags)
    const {migrations, history} = prepared
    // By name (and database), so that a shard resumed after a crash finds the namespaces it had, whatever the others did meanwhile.
    const {items: targets, stamp} = sharding.take(prepared.targets, (target) => this.identity(target), migrations.map((migration) => `${migration.script} ${migration.checksum}`))
    const transaction = flags.transaction as 'migration' | 'namespace'
    const outside = migrations.find((migration) => !migration.transactional)
    if (transaction === 'namespace' && outside) {
      const why = outside.statements.find((statement) => statement.outside)
      const reason = why ? `${why.outside} at line ${why.line}` : '-- fanout:no-transaction'
      throw new UsageError(`--transaction namespace cannot include ${outside.script} (${reason}: it runs outside a transaction); use --transaction migration`)
    }
    const metrics = await this.openMetrics(flags, sharding.spec)
    // prom-client (under these modules) is loaded only when a metrics flag is given.
    const migrateMetrics = metrics && new (await import('../src/migrate/metrics.js')).MigrateMetrics(metrics.registry, flags['metrics-per-namespace'])
    let applied = 0
    // Each database its own stop latch (a session of its own) and its own ${flyway:user} and ${flyway:database}.
    const optionsIn = await Promise.all(
      this.fleet.map(async ({db, label}, database) => ({
        migrations: db ? this.migrationsIn(database) : migrations,
        history,
        baselineOnMigrate: baselineVersion,
        target,
        create: flags['create-namespaces'],
        dryRun: flags['dry-run'],
        outOfOrder: flags['out-of-order'],
        transaction,
        statementTimeoutMs: flags.timeout,
        lockWaitMs: flags['lock-wait'],
        stop: flags['dry-run'] || transaction === 'namespace' || !db ? undefined : await db.openStopLatch(),
        onApplied: (namespace: string) => {
          applied++
          migrateMetrics?.onApplied(this.several ? `${label}/${namespace}` : namespace)
        },
      })),
    )
    metrics?.engine.begin(targets.length)
    const readAhead = this.readers(targets, history)
    // A namespace another run holds is taken up after the others (deferIfBusy): runs at once split the list.
    const report = await this.across(targets, (db, namespace, signal, database, deferIfBusy) => migrateNamespace(db, namespace, {...optionsIn[database]!, signal, readAhead: readAhead[database], deferIfBusy}), {
      workers: flags.workers,
      follow: (progress) => followLimit(flags.workers, progress, metrics?.engine),
      mode: modeOf(flags, 'fail-fast'),
      waves: flags.waves,
      rate: flags.rate,
      retries: flags.retries,
      quiet: flags.quiet,
      label: sharding.label('migrate'),
      detail: () => `${applied} migration${applied === 1 ? '' : 's'} applied`,
      onStart: metrics?.engine.onStart,
      onSettle: metrics?.engine.onSettle,
      // Those put aside are mostly done by now: read at once, not a chunk at a time as the workers reach them.
      onRevisit: (database, namespaces) => readAhead[database]?.reread(namespaces),
      // Runs on one list share each database's sessions while they meet.
      countRuns: async (database) => (await this.fleet[database]!.db?.withConnection(runsAt)) ?? 1,
    })
    metrics?.engine.end(report.summary.durationMs, report.ok)
    migrateMetrics?.record(report)
    const document = stamped(report, sharding.runId, stamp)
    const text = () => [renderMigrate(document, {dryRun: flags['dry-run'], all: flags.all}), describeShard(stamp, targets.length)].filter(Boolean).join('\n')
    this.conclude(document, flags.json, text, !report.ok)
    await this.closeMetrics(metrics)
  }
}
