import {formatDuration} from '../cli/values.js'
import {renderTable} from '../report/table.js'
import {formatLatency} from './figures.js'
import type {Latency} from './figures.js'
import type {LoadReport} from './report.js'

const PERCENTILES: (keyof Latency)[] = ['p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max', 'mean', 'stdev']

/** The summary: latency, throughput, status codes, errors, thresholds with pass/fail marks. */
export function renderLoad(report: LoadReport): string {
  const {summary} = report
  const latencyRows = [[summary.corrected ? 'from send' : 'latency', ...PERCENTILES.map((key) => formatLatency(summary.latency[key]))]]
  if (summary.corrected) latencyRows.unshift(['corrected', ...PERCENTILES.map((key) => formatLatency(summary.corrected![key]))])
  const parts = [summary.completed > 0 ? renderTable(['', ...PERCENTILES], latencyRows) : 'no responses: no latency to report']
  if (summary.corrected) parts.push('corrected: measured from each request\'s intended send time (coordinated omission corrected); from send: from the actual send')
  const throughput = [['requests', String(summary.requests)], ['completed', String(summary.completed)], ['errors', String(summary.errors)], ['in flight at the end', String(summary.inFlight)], ['duration', formatDuration(summary.durationMs)], ['req/s', summary.rps.toFixed(1)]]
  if (report.config.rate !== undefined) {
    throughput.push(['target req/s', String(report.config.rate)], ['late sends (> 2 ms)', String(summary.late)], ['missed sends', String(summary.missed)])
  }
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
  if (report.interrupted) parts.push('interrupted: the figures cover the run up to Ctrl-C')
  return parts.join('\n')
}
