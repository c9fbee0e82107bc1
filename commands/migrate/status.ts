import {NamespacesCommand, namespaceFlags} from '../../src/migrate/command.js'
import {inspectNamespace} from '../../src/migrate/inspect.js'
import {renderStatus} from '../../src/migrate/render.js'

export default class MigrateStatus extends NamespacesCommand {
  static override summary = 'Show every namespace\'s version, pending migrations, failures and checksum drift.'

  static override description = [
    'Reads each namespace\'s fanout_schema_history against the files in --dir; takes no lock and changes nothing. Up to 50 namespaces are listed; a fleet is summarised as the number of namespaces at each version, then the exceptions (pending, failed, drift, missing). Without a selection, every namespace with a history table is shown. Over several databases (--database repeated, --databases-file) a table of each database\'s figures comes first.',
    'Exit codes: 0 read; 1 some namespaces could not be read (e.g. the schema is missing); 2 bad usage; 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = [
    '<%= config.bin %> migrate status --dir fixtures/migrations',
    "<%= config.bin %> migrate status --database postgres://app@db:5432/app --namespace-pattern 'tenant_%' --json",
  ]

  static override flags = namespaceFlags

  async run(): Promise<void> {
    const {flags} = await this.parse(MigrateStatus)
    const {migrations, history, targets} = await this.prepare(flags, 'managed')
    const readers = this.readers(targets, history)
    const report = await this.across(targets, (_db, namespace, _signal, database) => inspectNamespace(readers[database]!, namespace, migrations), {workers: flags.workers, mode: 'settle', quiet: flags.quiet})
    this.conclude(report, flags.json, () => renderStatus(report, {all: flags.all}), report.summary.failed > 0)
  }
}
