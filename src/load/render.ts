import {formatDuration} from '../cli/values.js'
import {renderTable} from '../report/table.js'
import {comparisonRows} from './compare.js'
import type {Comparison} from './compare.js'
import {LATENCY_KEYS, formatBytes, formatLatency} from './figures.js'
import type {Latency, Sample} from './figures.js'
import {distribution} from './distribution.js'
import type {LoadReport} from './report.js'
import {decode} from './tally.js'

/** The widest a terminal line of the report gets (sparklines and histogram bars). */
const SPARK_WIDTH = 60
const BAR_WIDTH = 40

/**
 * The summary: latency (a row per figure, a column per kind), throughput and bytes, status codes, errors,
 * thresholds with pass/fail marks, req/s and p99 over time, and the latency histogram under it all (as oha prints).
 */
export function renderLoad(report: LoadReport): string {
  const {summary} = report
  const columns = latencyColumns(report)
  const latencyRows = LATENCY_KEYS.map((key) => [key, ...columns.map(([, latency]) => formatLatency(latency[key]))])
  const parts = [summary.completed > 0 ? renderTable(['', ...columns.map(([name]) => name)], latencyRows) : 'no responses: no latency to report']
  if (summary.corrected) parts.push('corrected: measured from each request\'s intended send time (coordinated omission corrected); from send: from the actual send')
  const throughput = throughputRows(report)
  parts.push(renderTable(['throughput', ''], throughput))
  const statuses = Object.entries(report.status)
  if (statuses.length > 0) parts.push(renderTable(['status', 'responses'], statuses.map(([status, count]) => [status, String(count)])))
  const errors = Object.entries(report.errors)
  if (errors.length > 0) parts.push(renderTable(['error', 'count', 'first message'], errors.map(([kind, entry]) => [kind, String(entry!.count), entry!.first ?? ''])))
  if (report.thresholds.length > 0) {
    parts.push(renderTable(['threshold', 'actual', ''], report.thresholds.map((result) => [result.expression, result.actual, result.pass ? '✓ pass' : '✗ FAIL'])))
  }
  if (report.config.rate !== undefined && (summary.missed > 0 || summary.late > summary.requests / 100)) {
    parts.push(`the workers could not keep up with ${report.config.rate} req/s: ${summary.late} sends went out late and ${summary.missed} never did; add --workers or --threads`)
  }
  if (report.samples.length > 1) parts.push(renderOverTime(report.samples))
  if (summary.completed > 0) parts.push(renderHistogram(report))
  if (report.comparison) parts.push(renderComparison(report.comparison))
  if (report.interrupted) parts.push('interrupted: the figures cover the run up to Ctrl-C')
  return parts.join('\n')
}

/** The latency columns: corrected (--rate), from the send, and the TLS handshakes' own. */
export function latencyColumns(report: LoadReport): [string, Latency][] {
  const {summary} = report
  const columns: [string, Latency][] = []
  if (summary.corrected) columns.push(['corrected', summary.corrected])
  columns.push([summary.corrected ? 'from send' : 'latency', summary.latency])
  if (summary.tls) columns.push(['TLS handshake', summary.tls.latency])
  return columns
}

/** Counts, req/s, bytes, handshakes, the measured phase's span and, under --rate, the schedule's figures. */
export function throughputRows(report: LoadReport): string[][] {
  const {summary} = report
  const {bytes} = summary
  const rows = [
    ['requests', String(summary.requests)],
    ['completed', String(summary.completed)],
    ['errors', String(summary.errors)],
    ['in flight at the end', String(summary.inFlight)],
    ['duration', formatDuration(summary.durationMs)],
    ['req/s', summary.rps.toFixed(1)],
    ['bytes sent', `${formatBytes(bytes.sent)} (${formatBytes(bytes.sentPerSecond)}/s)`],
    ['bytes received', `${formatBytes(bytes.received)} (${formatBytes(bytes.receivedPerSecond)}/s)`],
  ]
  if (summary.tls) rows.push(['TLS handshakes', `${summary.tls.handshakes} (${summary.tls.resumed} resumed)`])
  if (summary.startedAt && summary.endedAt) rows.push(['started', summary.startedAt], ['ended', summary.endedAt])
  if (report.config.rate !== undefined) {
    rows.push(['target req/s', String(report.config.rate)], ['late sends (> 2 ms)', String(summary.late)], ['missed sends', String(summary.missed)])
  }
  return rows
}

/** This run against the baseline, figure by figure, and the verdict line last. */
function renderComparison(comparison: Comparison): string {
  return [renderTable([`against ${comparison.baseline}`, 'baseline', 'this run', 'change', ''], comparisonRows(comparison)), comparison.verdict].join('\n')
}

/** req/s and p99 of each second as sparklines (seconds grouped when there are more than fit a line). */
function renderOverTime(samples: Sample[]): string {
  const groups = Math.min(samples.length, SPARK_WIDTH)
  const rows = Array.from({length: groups}, (_, i) => samples.slice(Math.floor((i * samples.length) / groups), Math.floor(((i + 1) * samples.length) / groups)))
  const rps = rows.map((row) => row.reduce((sum, sample) => sum + sample.rps, 0) / row.length)
  const p99 = rows.map((row) => Math.max(...row.map((sample) => sample.p99)))
  const range = (values: number[], format: (n: number) => string) => `${format(Math.min(...values))} … ${format(Math.max(...values))}`
  const per = samples.length > groups ? ` (${groups} groups of ~${Math.round(samples.length / groups)} s)` : ''
  return [
    `over time, one mark a second${per}:`,
    `  req/s ${sparkline(rps)}  ${range(rps, (n) => n.toFixed(0))}`,
    `  p99   ${sparkline(p99)}  ${range(p99, formatLatency)}`,
  ].join('\n')
}

const SPARKS = '▁▂▃▄▅▆▇█'

function sparkline(values: number[]): string {
  const low = Math.min(...values)
  const span = Math.max(...values) - low
  return values.map((value) => SPARKS[span === 0 ? 0 : Math.min(SPARKS.length - 1, Math.floor(((value - low) / span) * SPARKS.length))]).join('')
}

/** The latency histogram: responses per latency bucket, with bars (the honest figures under --rate). */
function renderHistogram(report: LoadReport): string {
  const histogram = decode(report.config.rate === undefined ? report.tally.histograms.latency : report.tally.histograms.corrected)
  const buckets = distribution(histogram, 10)
  const most = Math.max(...buckets.map((bucket) => bucket.count))
  const labels = buckets.map((bucket) => formatLatency(bucket.upTo))
  const width = Math.max(...labels.map((label) => label.length))
  const countWidth = String(most).length
  const lines = buckets.map((bucket, i) => {
    const bar = '■'.repeat(most === 0 ? 0 : Math.round((bucket.count / most) * BAR_WIDTH))
    return `  ${labels[i]!.padStart(width)} [${String(bucket.count).padStart(countWidth)}] |${bar}`
  })
  return [`latency histogram${report.config.rate === undefined ? '' : ' (corrected)'}, responses up to each latency:`, ...lines].join('\n')
}
