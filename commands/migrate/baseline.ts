import {Flags} from '@oclif/core'

import {baselineNamespace, versionOf} from '../../src/migrate/baseline.js'
import {NamespacesCommand, lockFlags, namespaceFlags} from '../../src/migrate/command.js'
import {renderBaseline} from '../../src/migrate/render.js'

export default class MigrateBaseline extends NamespacesCommand {
  static override summary = 'Record a version as the baseline of namespaces whose schema exists already, so that only later migrations apply.'

  static override description = [
    'For a fleet built before fanout (by hand, by psql, by another tool): writes a BASELINE row at --version into each namespace\'s history table (creating it), under the namespace\'s lock, as Flyway\'s baseline does. Migrations up to that version are taken as present and never applied there; later ones apply on the next fanout migrate. A namespace with any history already is refused (one baselined at the same version is left as it is). fanout migrate --baseline-on-migrate does the same on the way for namespaces that have objects but no history.',
    'Exit codes: 0 baselined; 1 some namespaces could not be (missing, or a history already); 2 bad usage; 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = ["<%= config.bin %> migrate baseline --version 4 --database postgres://app@db:5432/app --namespace-pattern 'tenant_%'"]

  static override flags = {
    ...namespaceFlags,
    ...lockFlags,
    version: Flags.string({helpValue: '<version>', required: true, summary: 'The version the namespaces are at: migrations up to it are never applied to them.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MigrateBaseline)
    const version = versionOf('--version', flags.version)
    const {history, targets} = await this.prepare(flags)
    const report = await this.across(targets, (db, namespace, signal) => baselineNamespace(db, namespace, version, history, signal, flags['lock-wait']), {workers: flags.workers, mode: 'settle', quiet: flags.quiet})
    this.conclude(report, flags.json, () => renderBaseline(report), report.summary.failed > 0)
  }
}
