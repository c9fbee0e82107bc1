import type {Envelope} from '../report/envelope.js'
import {formatDuration} from '../cli/values.js'
import {renderTable} from '../report/table.js'
import {workersNote} from '../report/workers.js'
import type {HealthResult} from './result.js'

const ORDER = {failed: 0, cancelled: 1, succeeded: 2} as const
const STATUS = {failed: 'UNHEALTHY', cancelled: 'cancelled', succeeded: 'healthy'} as const

/**
 * The table: unhealthy checks first, each with the reason; then cancelled; then healthy ones — listed only when
 * there are few of them or `all` is set, since with thousands of backends the question is which are down.
 */
export function renderHealth(report: Envelope<HealthResult>, options: {all: boolean; stream?: NodeJS.WriteStream}): string {
  const healthyShown = options.all || report.summary.succeeded <= 50
  const sorted = report.results
    .filter((r) => r.status !== 'succeeded' || healthyShown)
    .sort((a, b) => ORDER[a.status] - ORDER[b.status] || (a.group ?? '').localeCompare(b.group ?? ''))
  const grouped = report.results.some((r) => r.group !== undefined)
  const rows = sorted.map((r) => [
    ...(grouped ? [r.group ?? '-'] : []),
    r.name === r.target ? r.target : `${r.name}\n${r.target}`,
    STATUS[r.status],
    r.httpStatus === undefined ? '-' : String(r.httpStatus),
    r.responseTimeMs === undefined ? '-' : formatDuration(r.responseTimeMs),
    String(r.attempts),
    detail(r),
  ])
  const head = [...(grouped ? ['group'] : []), 'check', 'status', 'http', 'time', 'tries', 'why']
  const parts = rows.length > 0 ? [renderTable(head, rows, options.stream)] : []
  if (!healthyShown) parts.push(`(${report.summary.succeeded} healthy checks not listed; --all lists them)`)
  parts.push(summaryLine(report) + workersNote(report))
  return parts.join('\n')
}

/** `2000 checks: 1995 healthy, 5 unhealthy (3 timeout, 2 condition), 0 cancelled in 1.21s` */
export function summaryLine(report: Envelope<HealthResult>): string {
  const {cancelled, durationMs, failed, succeeded, total} = report.summary
  const byCode = new Map<string, number>()
  for (const r of report.results) if (r.status === 'failed' && r.error) byCode.set(r.error.code, (byCode.get(r.error.code) ?? 0) + 1)
  const codes = byCode.size > 0 ? ` (${[...byCode].map(([code, n]) => `${n} ${code}`).join(', ')})` : ''
  const tail = report.interrupted ? ' — interrupted, partial report' : ''
  return `${total} check${total === 1 ? '' : 's'}: ${succeeded} healthy, ${failed} unhealthy${codes}, ${cancelled} cancelled in ${formatDuration(durationMs)}${tail}`
}

/** Why a check is where it is: the error, the failed condition with its actual value, or how many tries it took. */
export function detail(r: HealthResult): string {
  if (r.status === 'cancelled') return 'not finished: the run was stopped'
  const lines: string[] = []
  if (r.error?.code === 'condition') lines.push(...r.conditions.filter((c) => !c.ok).map((c) => `condition: ${c.actual}`))
  else if (r.error) lines.push(`${r.error.code}: ${r.error.message}`)
  if (r.attempts > 1) lines.push(r.status === 'succeeded' ? `passed on try ${r.attempts}` : `failed all ${r.attempts} tries`)
  return lines.join('\n')
}
