import {readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'

import {formatDuration} from '../../cli/values.js'
import {comparisonRows} from '../compare.js'
import type {Comparison} from '../compare.js'
import {spectrum} from '../distribution.js'
import {LATENCY_KEYS, formatLatency} from '../figures.js'
import {latencyColumns, throughputRows} from '../render.js'
import type {LoadReport} from '../report.js'
import {decode} from '../tally.js'
import {PAGE_SCRIPT} from './script.js'

const require = createRequire(import.meta.url)

/** uPlot's own build, read from node_modules when a report is written: inlined, so the page needs no network. */
async function uplot(): Promise<{script: string; style: string}> {
  const [script, style] = await Promise.all([
    readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  ])
  return {script, style}
}

/**
 * `--report report.html`: one self-contained page — the latency spectrum (corrected and from the send under --rate,
 * the baseline's with --compare), req/s and p50/p99 over time, status codes and errors over time, the figures, the
 * config, the thresholds with pass/fail and the comparison's verdict.
 */
export async function htmlReport(report: LoadReport, options: {baseline?: LoadReport; comparison?: Comparison} = {}): Promise<string> {
  const {script, style} = await uplot()
  const data = {spectrum: spectrumData(report, options.baseline), samples: report.samples}
  const title = `fanout ${report.command}${report.config.shards ? ` (${report.config.shards} runs merged)` : ''} — ${report.config.urls[0] ?? ''}${report.config.urls.length > 1 ? ` and ${report.config.urls.length - 1} more` : ''}`
  const {summary} = report
  const verdict = report.interrupted ? 'interrupted: partial figures' : report.ok ? 'passed' : 'FAILED'
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${style}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>${escape(title)}</h1>
<p class="verdict ${report.ok ? 'pass' : 'fail'}" id="verdict">${escape(verdict)}${summary.startedAt ? ` · ${escape(summary.startedAt)} to ${escape(summary.endedAt ?? '')}` : ''} · ${escape(formatDuration(summary.durationMs))}</p>
${options.comparison ? comparisonSection(options.comparison) : ''}
<section class="charts">
<div id="chart-spectrum"></div>
<div id="chart-rps"></div>
<div id="chart-latency"></div>
<div id="chart-outcomes"></div>
</section>
<section class="tables">
${table('Throughput', ['', ''], throughputRows(report))}
${table('Latency', ['', ...latencyColumns(report).map(([name]) => name)], LATENCY_KEYS.map((key) => [key, ...latencyColumns(report).map(([, latency]) => formatLatency(latency[key]))]))}
${table('Status codes', ['status', 'responses'], Object.entries(report.status).map(([status, count]) => [status, String(count)]))}
${table('Errors', ['kind', 'count', 'first message'], Object.entries(report.errors).map(([kind, entry]) => [kind, String(entry!.count), entry!.first ?? '']))}
${table('Thresholds', ['threshold', 'actual', ''], report.thresholds.map((result) => [result.expression, result.actual, result.pass ? '✓ pass' : '✗ FAIL']))}
${table('Config', ['', ''], Object.entries(report.config).map(([key, value]) => [key, Array.isArray(value) ? value.join('\n') : String(value)]))}
</section>
<script type="application/json" id="fanout-data">${json(data)}</script>
<script>${script}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
}

/** The spectrum's series on one x axis (1 / (1 - percentile)): this run's, and the baseline's dashed. */
function spectrumData(report: LoadReport, baseline: LoadReport | undefined) {
  const series: {label: string; ms: number[]; dash?: true}[] = []
  const add = (label: string, encoded: string, dash?: true) => {
    const points = spectrum(decode(encoded))
    if (points.length > 0) series.push({label, ms: points.map((point) => Math.max(point.ms, 0.001)), ...(dash ? {dash} : {})})
  }
  const paced = report.config.rate !== undefined
  if (paced) add('corrected', report.tally.histograms.corrected)
  add(paced ? 'from send' : 'latency', report.tally.histograms.latency)
  if (baseline) add(`baseline${baseline.config.rate === undefined ? '' : ' (corrected)'}`, baseline.config.rate === undefined ? baseline.tally.histograms.latency : baseline.tally.histograms.corrected, true)
  const x = spectrum(decode(report.tally.histograms.latency)).map((point) => 1 / (1 - point.percentile / 100))
  return {x, series}
}

function comparisonSection(comparison: Comparison): string {
  const rows = comparisonRows(comparison)
  return `<section class="comparison">
<p class="verdict ${comparison.regressed ? 'fail' : 'pass'}" id="comparison-verdict">${escape(comparison.verdict)}</p>
${table(`Against ${comparison.baseline} (${comparison.latency === 'corrected' ? 'corrected latency' : 'latency'})`, ['', 'baseline', 'this run', 'change', ''], rows)}
</section>`
}

function table(caption: string, head: string[], rows: string[][]): string {
  if (rows.length === 0) return ''
  const cells = (tag: string, row: string[]) => row.map((cell) => `<${tag}>${escape(cell).replaceAll('\n', '<br>')}</${tag}>`).join('')
  return `<table><caption>${escape(caption)}</caption><thead><tr>${cells('th', head)}</tr></thead><tbody>${rows.map((row) => `<tr>${cells('td', row)}</tr>`).join('')}</tbody></table>`
}

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

/** JSON inside a <script> element: `<` escaped so that no value can end the element. */
function json(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c')
}

const PAGE_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 20px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; }
.verdict { font-weight: 600; }
.verdict.pass { color: #1a7f37; }
.verdict.fail { color: #cf222e; }
.charts > div { margin: 16px 0; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 10px; text-align: left; font-variant-numeric: tabular-nums; }
`
