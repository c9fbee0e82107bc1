import {Gauge} from 'prom-client'
import type {Registry} from 'prom-client'

import type {Envelope} from '../report/envelope.js'
import {PROBE_GAUGES, phaseSeconds, probeLabels} from './probe-series.js'
import type {HealthResult} from './result.js'

/**
 * Health results under blackbox_exporter's metric names, so that dashboards and alerts written for blackbox work
 * unchanged, in a registry served on /metrics (updated every --watch round). The textfile / --format prometheus text
 * is written from the same series without a registry (probe-series.ts).
 */
export class ProbeMetrics {
  private readonly gauges: Gauge[]

  /** `extraLabels`: every label name the checks' `extra-labels` use (a series without one has it empty). */
  constructor(
    registry: Registry,
    private readonly extraLabels: string[] = [],
  ) {
    this.gauges = PROBE_GAUGES.map(({name, help, phases}) => new Gauge({name, help, labelNames: ['target', 'name', ...extraLabels, ...(phases ? ['phase'] : [])], registers: [registry]}))
  }

  /** Replaces the figures with one round's: a check gone from the list is gone from the metrics too. */
  record(report: Envelope<HealthResult>): void {
    for (const gauge of this.gauges) gauge.reset()
    for (const r of report.results) {
      if (r.status === 'cancelled') continue
      const labels = probeLabels(r, this.extraLabels)
      for (const [gauge, {value, phases}] of PROBE_GAUGES.entries()) {
        if (phases) for (const [phase, seconds] of phaseSeconds(r)) this.gauges[gauge]!.set({...labels, phase}, seconds)
        else {
          const figure = value!(r)
          if (figure !== undefined) this.gauges[gauge]!.set(labels, figure)
        }
      }
    }
  }
}
