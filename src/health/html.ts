import {formatDuration} from '../cli/values.js'
import type {Envelope} from '../report/envelope.js'
import {escapeHtml, htmlPageAround} from '../report/html-page.js'
import {detail, summaryLine} from './render.js'
import type {HealthResult} from './result.js'
import type {Phases} from './types.js'

const ORDER = {failed: 0, cancelled: 1, succeeded: 2} as const
const STATUS = {failed: 'UNHEALTHY', cancelled: 'cancelled', succeeded: 'healthy'} as const
const PHASES: (keyof Phases)[] = ['dns', 'connect', 'tls', 'ttfb', 'transfer']

/** How many rounds of response times a sparkline shows: what --watch keeps in memory per check. */
export const SPARKLINE_ROUNDS = 60

/** Response times of the last SPARKLINE_ROUNDS rounds, per check: a ring per check, so memory stays bounded. */
export class ResponseTimes {
  private readonly byCheck = new Map<string, number[]>()

  record(report: Envelope<HealthResult>): void {
    for (const r of report.results) {
      if (r.status === 'cancelled') continue
      const key = keyOf(r)
      const times = this.byCheck.get(key) ?? []
      times.push(r.responseTimeMs ?? r.durationMs)
      if (times.length > SPARKLINE_ROUNDS) times.shift()
      this.byCheck.set(key, times)
    }
  }

  of(r: HealthResult): number[] {
    return this.byCheck.get(keyOf(r)) ?? []
  }
}

const keyOf = (r: HealthResult) => `${r.group ?? ''}\u0000${r.name}`

/**
 * The status page: one self-contained file, the checks grouped as in the table with failures first (unhealthy, then
 * cancelled, then healthy, then by group), each with its phases as a small stacked bar, the failing condition and the
 * value it saw, the certificate's expiry and, under --watch, a sparkline of its response times over recent rounds.
 */
export function renderHtml(report: Envelope<HealthResult>, options: HtmlOptions = {}): string {
  return [...htmlPieces(report, options)].join('')
}

export interface HtmlOptions {
  times?: ResponseTimes
  refreshSeconds?: number
  now?: Date
}

/** The page of renderHtml() in pieces, a row at a time, for a report of 100,000 checks. */
export function* htmlPieces(report: Envelope<HealthResult>, options: HtmlOptions = {}): Generator<string> {
  const now = options.now ?? new Date()
  // Groups compared once each, not once per comparison of two checks (localeCompare is slow at 100,000 checks).
  const groups = [...new Set(report.results.map((r) => r.group ?? ''))].sort((a, b) => a.localeCompare(b))
  const rank = new Map(groups.map((group, i) => [group, i]))
  const sorted = [...report.results].sort((a, b) => ORDER[a.status] - ORDER[b.status] || rank.get(a.group ?? '')! - rank.get(b.group ?? '')!)
  const state = report.summary.failed + report.summary.cancelled > 0 ? 'down' : 'up'
  const {head, tail} = htmlPageAround({title: `fanout healthcheck: ${state === 'up' ? 'healthy' : 'UNHEALTHY'}`, style: STYLE, refreshSeconds: options.refreshSeconds})
  yield head
  yield [
    `<header class="${state}"><h1>${state === 'up' ? 'All checks healthy' : `${report.summary.failed + report.summary.cancelled} of ${report.summary.total} checks not healthy`}</h1>`,
    `<p>${escapeHtml(summaryLine(report))} · ${escapeHtml(now.toISOString())}</p></header>`,
    '<table><thead><tr><th>group</th><th>check</th><th>status</th><th>http</th><th>time</th><th>phases</th><th>tries</th><th>why</th><th>certificate</th><th>recent</th></tr></thead>',
    '<tbody>',
  ].join('\n')
  for (const r of sorted) yield row(r, options.times?.of(r) ?? [], now)
  yield `</tbody></table>\n<footer>${PHASES.map((phase) => `<span class="key ${phase}"></span>${phase}`).join(' ')}</footer>`
  yield tail
}

function row(r: HealthResult, times: number[], now: Date): string {
  const cells = [
    escapeHtml(r.group ?? '-'),
    `<span class="name">${escapeHtml(r.name)}</span>${r.name === r.target ? '' : `<span class="target">${escapeHtml(r.target)}</span>`}`,
    `<span class="badge">${STATUS[r.status]}</span>`,
    r.httpStatus === undefined ? '-' : String(r.httpStatus),
    r.responseTimeMs === undefined ? '-' : formatDuration(r.responseTimeMs),
    phaseBar(r.phases),
    String(r.attempts),
    escapeHtml(detail(r)).replaceAll('\n', '<br>'),
    certificate(r, now),
    sparkline(times),
  ]
  return `<tr class="${r.status}" data-status="${r.status}">${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`
}

/** The phases side by side, each as wide as its share of the total; the numbers in the tooltip. */
function phaseBar(phases: Phases): string {
  const present = PHASES.filter((phase) => phases[phase] !== undefined)
  const total = present.reduce((sum, phase) => sum + phases[phase]!, 0)
  if (present.length === 0 || total <= 0) return '-'
  const title = present.map((phase) => `${phase} ${formatDuration(phases[phase]!)}`).join(', ')
  const parts = present.map((phase) => `<span class="${phase}" style="width:${((phases[phase]! / total) * 100).toFixed(1)}%"></span>`)
  return `<span class="bar" title="${escapeHtml(title)}">${parts.join('')}</span>`
}

function certificate(r: HealthResult, now: Date): string {
  if (!r.certificateExpiresAt) return '-'
  const left = Date.parse(r.certificateExpiresAt) - now.getTime()
  const days = Math.floor(Math.abs(left) / 86_400_000)
  const text = left < 0 ? `expired ${days} d ago` : `${days} d left`
  return `<span class="${left < 14 * 86_400_000 ? 'soon' : ''}" title="${escapeHtml(r.certificateExpiresAt)}">${text}</span>`
}

/** Response times over the recent rounds as an inline SVG line, scaled to the slowest of them. */
function sparkline(times: number[]): string {
  if (times.length < 2) return '-'
  const width = 120
  const height = 24
  const top = Math.max(...times, 1)
  const step = width / (times.length - 1)
  const points = times.map((ms, i) => `${(i * step).toFixed(1)},${(height - 2 - (ms / top) * (height - 4)).toFixed(1)}`).join(' ')
  const label = `response time, last ${times.length} rounds: ${formatDuration(Math.min(...times))} to ${formatDuration(top)}`
  return `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}"><title>${escapeHtml(label)}</title><polyline points="${points}"/></svg>`
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{padding:16px 24px;color:#fff}header.up{background:#1f7a4d}header.down{background:#b3261e}
h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.9}
table{border-collapse:collapse;width:calc(100% - 48px);margin:16px 24px;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:6px 10px;text-align:left;vertical-align:top;border-bottom:1px solid #e3e6eb}
th{font-weight:600;background:#eef0f3}
.name{display:block;font-weight:600}.target{display:block;color:#5b6475;font-size:12px;word-break:break-all}
.badge{padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
tr.failed .badge{background:#fde7e5;color:#b3261e}tr.cancelled .badge{background:#eee;color:#555}tr.succeeded .badge{background:#e3f4ea;color:#1f7a4d}
tr.failed td:nth-child(8){color:#b3261e}
.bar{display:flex;width:120px;height:10px;border-radius:3px;overflow:hidden;background:#eee}
.dns{background:#8e7cc3}.connect{background:#4a90d9}.tls{background:#f0a030}.ttfb{background:#3aa57a}.transfer{background:#9aa4b2}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}
footer{margin:0 24px 24px;color:#5b6475;font-size:12px}
.soon{color:#b3261e;font-weight:600}
.spark polyline{fill:none;stroke:#4a90d9;stroke-width:1.5}
`
