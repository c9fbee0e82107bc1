import {Gauge, Registry} from 'prom-client'

import {exposition} from '../metrics/exposition.js'
import type {Envelope} from '../report/envelope.js'
import type {HealthResult} from './result.js'

/** blackbox_exporter's phase names for our phases. */
const PHASE = {dns: 'resolve', connect: 'connect', tls: 'tls', ttfb: 'processing', transfer: 'transfer'} as const
const HTTP = /^https?:\/\//

/**
 * Health results under blackbox_exporter's metric names, so that dashboards and alerts written for blackbox work
 * unchanged: in a registry served on /metrics (updated every --watch round) or rendered for a textfile.
 */
export class ProbeMetrics {
  private readonly success: Gauge
  private readonly duration: Gauge
  private readonly status: Gauge
  private readonly phases: Gauge
  private readonly expiry: Gauge

  /** `extraLabels`: every label name the checks' `extra-labels` use (a series without one has it empty). */
  constructor(
    registry: Registry,
    private readonly extraLabels: string[] = [],
  ) {
    const gauge = (name: string, help: string, extra: string[] = []) =>
      new Gauge({name, help, labelNames: ['target', 'name', ...extraLabels, ...extra], registers: [registry]})
    this.success = gauge('probe_success', 'Whether the check passed: the probe worked and every condition held (1) or not (0).')
    this.duration = gauge('probe_duration_seconds', 'How long the check took, all tries included.')
    this.status = gauge('probe_http_status_code', 'HTTP status code of the final response.')
    this.phases = gauge('probe_http_duration_seconds', 'Duration of each phase of the last try.', ['phase'])
    this.expiry = gauge('probe_ssl_earliest_cert_expiry', 'Unix time at which the earliest certificate of the chain expires.')
  }

  /** Replaces the figures with one round's: a check gone from the list is gone from the metrics too. */
  record(report: Envelope<HealthResult>): void {
    for (const gauge of [this.success, this.duration, this.status, this.phases, this.expiry]) gauge.reset()
    for (const r of report.results) {
      if (r.status === 'cancelled') continue
      const labels: Record<string, string> = {target: r.target, name: r.name}
      for (const label of this.extraLabels) labels[label] = r.labels?.[label] ?? ''
      this.success.set(labels, r.status === 'succeeded' ? 1 : 0)
      this.duration.set(labels, r.durationMs / 1000)
      if (r.httpStatus !== undefined) this.status.set(labels, r.httpStatus)
      // Phases are probe_http_* in blackbox_exporter: only HTTP targets have them.
      if (HTTP.test(r.target)) for (const [phase, ms] of Object.entries(r.phases)) this.phases.set({...labels, phase: PHASE[phase as keyof typeof PHASE]}, ms / 1000)
      if (r.certificateExpiresAt) this.expiry.set(labels, Date.parse(r.certificateExpiresAt) / 1000)
    }
  }
}

/** The report in Prometheus text format, for node_exporter's textfile collector. */
export async function renderPrometheus(report: Envelope<HealthResult>): Promise<string> {
  const registry = new Registry()
  new ProbeMetrics(registry, labelNames(report.results)).record(report)
  return exposition(registry)
}

/** The label names of every check's `extra-labels` (Gatus), in first-seen order. */
export function labelNames(checks: ReadonlyArray<{labels?: Record<string, string>}>): string[] {
  const names = new Set<string>()
  for (const check of checks) for (const name of Object.keys(check.labels ?? {})) names.add(name)
  return [...names]
}
