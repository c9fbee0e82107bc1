import {Gauge, Registry} from 'prom-client'

import type {Envelope} from '../report/envelope.js'
import type {HealthResult} from './result.js'

/** blackbox_exporter's phase names for our phases. */
const PHASE = {dns: 'resolve', connect: 'connect', tls: 'tls', ttfb: 'processing', transfer: 'transfer'} as const

/**
 * The report in Prometheus text format under blackbox_exporter's metric names, for node_exporter's textfile
 * collector: dashboards and alerts written for blackbox work unchanged.
 */
export async function renderPrometheus(report: Envelope<HealthResult>): Promise<string> {
  const registry = new Registry()
  const labelNames = ['target', 'name'] as const
  const gauge = (name: string, help: string, extra: string[] = []) =>
    new Gauge({name, help, labelNames: [...labelNames, ...extra], registers: [registry]})
  const success = gauge('probe_success', 'Whether the check passed: the probe worked and every condition held (1) or not (0).')
  const duration = gauge('probe_duration_seconds', 'How long the check took, all tries included.')
  const status = gauge('probe_http_status_code', 'HTTP status code of the final response.')
  const phases = gauge('probe_http_duration_seconds', 'Duration of each phase of the last try.', ['phase'])
  const expiry = gauge('probe_ssl_earliest_cert_expiry', 'Unix time at which the earliest certificate of the chain expires.')
  for (const r of report.results) {
    if (r.status === 'cancelled') continue
    const labels = {target: r.target, name: r.name}
    success.set(labels, r.status === 'succeeded' ? 1 : 0)
    duration.set(labels, r.durationMs / 1000)
    if (r.httpStatus !== undefined) status.set(labels, r.httpStatus)
    for (const [phase, ms] of Object.entries(r.phases)) phases.set({...labels, phase: PHASE[phase as keyof typeof PHASE]}, ms / 1000)
    if (r.certificateExpiresAt) expiry.set(labels, Date.parse(r.certificateExpiresAt) / 1000)
  }
  return registry.metrics()
}
