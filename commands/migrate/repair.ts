import {NamespacesCommand, lockFlags, namespaceFlags} from '../../src/migrate/command.js'
import {repairNamespace} from '../../src/migrate/inspect.js'
import {renderRepair} from '../../src/migrate/render.js'

export default class MigrateRepair extends NamespacesCommand {
  static override summary = 'Clear failed no-transaction migrations, accept edited and removed files, so that migrate can go on.'

  static override description = [
    'For each namespace, under its lock: removes the history rows of failed migrations (mend the namespace by hand first: the migration runs again on the next migrate) with the INVALID indexes a failed CREATE INDEX CONCURRENTLY left, takes the current checksum of applied migrations whose files were edited on purpose, and marks applied migrations whose files are gone as deleted (as Flyway does), so that migrate goes on without them. Without a selection, every namespace with a history table is repaired.',
    'Exit codes: 0 repaired (or nothing to repair); 1 some namespaces could not be repaired; 2 bad usage; 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = ['<%= config.bin %> migrate repair --dir migrations --namespaces tenant_42']

  static override flags = {...namespaceFlags, ...lockFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(MigrateRepair)
    const {migrations, history, targets} = await this.prepare(flags, 'managed')
    const report = await this.across(targets, (db, namespace, signal) => repairNamespace(db, namespace, migrations, history, signal, flags['lock-wait']), {workers: flags.workers, mode: 'settle', quiet: flags.quiet})
    this.conclude(report, flags.json, () => renderRepair(report), report.summary.failed > 0)
  }
}
