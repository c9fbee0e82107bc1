import {helpText, labelValue, sampleValue} from '../metrics/exposition.js'
import type {Envelope} from '../report/envelope.js'
import type {HealthResult} from './result.js'

/** blackbox_exporter's phase names for our phases. */
const PHASE = {dns: 'resolve', connect: 'connect', tls: 'tls', ttfb: 'processing', transfer: 'transfer'} as const
const HTTP = /^https?:\/\//

/**
 * One of blackbox_exporter's gauges: its name, its help, and a check's value on it (undefined: no series), or for
 * probe_http_duration_seconds a series per phase.
 */
export interface ProbeGauge {
  name: string
  help: string
  value?: (r: HealthResult) => number | undefined
  phases?: true
}

/** The gauges, in the order they are exposed. A cancelled check has no series on any. */
export const PROBE_GAUGES: ProbeGauge[] = [
  {name: 'probe_success', help: 'Whether the check passed: the probe worked and every condition held (1) or not (0).', value: (r) => (r.status === 'succeeded' ? 1 : 0)},
  {name: 'probe_duration_seconds', help: 'How long the check took, all tries included.', value: (r) => r.durationMs / 1000},
  {name: 'probe_http_status_code', help: 'HTTP status code of the final response.', value: (r) => r.httpStatus},
  {name: 'probe_http_duration_seconds', help: 'Duration of each phase of the last try.', phases: true},
  {name: 'probe_ssl_earliest_cert_expiry', help: 'Unix time at which the earliest certificate of the chain expires.', value: (r) => (r.certificateExpiresAt ? Date.parse(r.certificateExpiresAt) / 1000 : undefined)},
]

/** A check's phases as blackbox_exporter names them, in seconds; only HTTP targets have them (probe_http_*). */
export function phaseSeconds(r: HealthResult): [string, number][] {
  if (!HTTP.test(r.target)) return []
  return Object.entries(r.phases).map(([phase, ms]) => [PHASE[phase as keyof typeof PHASE], ms / 1000])
}

/** A check's labels, in exposition order: target, name, then the extra labels (empty where the check has none). */
export function probeLabels(r: HealthResult, extraLabels: string[]): Record<string, string> {
  const labels: Record<string, string> = {target: r.target, name: r.name}
  for (const label of extraLabels) labels[label] = r.labels?.[label] ?? ''
  return labels
}

/**
 * The report in Prometheus text format, for node_exporter's textfile collector, line by line (a blank line between
 * gauges; no final newline), as a prom-client registry holding ProbeMetrics would print it — but written straight
 * from the results: for 100,000 checks the registry holds every series several times over (close to 1 GB). Checks
 * whose labels are the same (one name and URL in two groups) are one series each gauge: the last one's figures, in the
 * first one's place.
 */
export function* prometheusLines(report: Envelope<HealthResult>): Generator<string> {
  const {results} = report
  const extraLabels = labelNames(results)
  // Each series' labels by the check first to have them; the figures of the last to have them.
  const labels: string[] = new Array(results.length)
  const last = new Map<string, number>()
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!
    if (r.status === 'cancelled') continue
    let text = `target="${labelValue(r.target)}",name="${labelValue(r.name)}"`
    for (const label of extraLabels) text += `,${label}="${labelValue(r.labels?.[label] ?? '')}"`
    if (!last.has(text)) labels[i] = text
    last.set(text, i)
  }
  const figures = labels.map((text) => results[last.get(text)!]!)
  for (const [gauge, {name, help, value, phases}] of PROBE_GAUGES.entries()) {
    if (gauge > 0) yield ''
    yield `# HELP ${name} ${helpText(help)}`
    yield `# TYPE ${name} gauge`
    for (let i = 0; i < results.length; i++) {
      const text = labels[i]
      if (text === undefined) continue
      const r = figures[i]!
      if (phases) for (const [phase, seconds] of phaseSeconds(r)) yield `${name}{${text},phase="${phase}"} ${sampleValue(seconds)}`
      else {
        const figure = value!(r)
        if (figure !== undefined) yield `${name}{${text}} ${sampleValue(figure)}`
      }
    }
  }
}

/** The report in Prometheus text format (no final newline). */
export function renderPrometheus(report: Envelope<HealthResult>): string {
  return [...prometheusLines(report)].join('\n')
}

/** The label names of every check's `extra-labels` (Gatus), in first-seen order. */
export function labelNames(checks: ReadonlyArray<{labels?: Record<string, string>}>): string[] {
  const names = new Set<string>()
  for (const check of checks) for (const name of Object.keys(check.labels ?? {})) names.add(name)
  return [...names]
}
