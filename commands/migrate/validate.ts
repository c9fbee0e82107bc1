import {NamespacesCommand, namespaceFlags} from '../../src/migrate/command.js'
import {inspectNamespace} from '../../src/migrate/inspect.js'
import {renderValidate} from '../../src/migrate/render.js'

export default class MigrateValidate extends NamespacesCommand {
  static override summary = 'Check that applied migrations still match their files (checksum drift), in every namespace.'

  static override description = [
    'An applied migration whose file was edited (line endings aside) or removed is drift; fanout migrate refuses such a namespace until the file is restored or fanout migrate repair accepts it. Without a selection, every namespace with a history table is checked.',
    'Exit codes: 0 no drift; 1 drift, a failed migration on record, or an unreadable namespace; 2 bad usage; 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = ['<%= config.bin %> migrate validate --dir migrations --database postgres://app@db:5432/app']

  static override flags = namespaceFlags

  async run(): Promise<void> {
    const {flags} = await this.parse(MigrateValidate)
    const {migrations, history, targets} = await this.prepare(flags, 'managed')
    const readers = this.readers(targets, history)
    const report = await this.across(targets, (_db, namespace, _signal, database) => inspectNamespace(readers[database]!, namespace, migrations), {workers: flags.workers, mode: 'settle', quiet: flags.quiet})
    const bad = report.results.some((result) => result.status !== 'succeeded' || result.drift?.length || result.failedScript)
    this.conclude(report, flags.json, () => renderValidate(report), bad)
  }
}
