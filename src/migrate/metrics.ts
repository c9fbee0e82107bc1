import {Counter, Gauge} from 'prom-client'
import type {Registry} from 'prom-client'

import type {Envelope} from '../report/envelope.js'
import type {Migrated} from './migrate-namespace.js'
import type {NamespaceResult} from './run-namespaces.js'

/**
 * migrate's own figures. A label per namespace is unbounded (thousands of series), so it is there only when asked
 * for (--metrics-per-namespace); by default the fleet is counted per version.
 */
export class MigrateMetrics {
  private readonly applied: Counter<string>
  private readonly versions: Gauge<string>

  constructor(
    registry: Registry,
    private readonly perNamespace: boolean,
  ) {
    const registers = [registry]
    this.applied = new Counter({
      name: 'fanout_migrations_applied_total',
      help: 'Migrations applied and committed.',
      labelNames: perNamespace ? ['namespace'] : [],
      registers,
    })
    this.versions = perNamespace
      ? new Gauge({name: 'fanout_namespace_version', help: 'Each namespace\'s version after the run (1.2 reads as 1.2).', labelNames: ['namespace'], registers})
      : new Gauge({name: 'fanout_namespaces_at_version', help: 'Namespaces at each version after the run.', labelNames: ['version'], registers})
  }

  readonly onApplied = (namespace: string): void => {
    if (this.perNamespace) this.applied.inc({namespace})
    else this.applied.inc()
  }

  record(report: Envelope<NamespaceResult<Migrated>>): void {
    const counts = new Map<string, number>()
    for (const result of report.results) {
      if (result.version === undefined) continue
      if (this.perNamespace) this.versions.set({namespace: result.target}, result.version === null ? 0 : Number.parseFloat(result.version))
      else counts.set(result.version ?? 'none', (counts.get(result.version ?? 'none') ?? 0) + 1)
    }
    for (const [version, count] of counts) this.versions.set({version}, count)
  }
}
