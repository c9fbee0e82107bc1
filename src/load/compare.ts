import {figuresOf, formatLatency} from './figures.js'
import type {Figures, Latency} from './figures.js'
import type {LoadReport} from './report.js'

/** The figures a comparison judges: latency percentiles (lower is better) and req/s (higher is better). */
export const COMPARED = ['p50', 'p75', 'p90', 'p95', 'p99', 'p99.9', 'rps'] as const

export interface ComparisonRow {
  figure: (typeof COMPARED)[number]
  baseline: number
  current: number
  /** (current - baseline) / baseline: 0.1 is 10% more; null when the baseline is 0 and this is not. */
  change: number | null
  /** Worse by more than the tolerance: latency up, or req/s down. */
  regression: boolean
}

/** This run against a saved one (`--compare baseline.json`), judged with `--tolerance`. */
export interface Comparison {
  baseline: string
  /** A fraction: 0.05 for 5%. */
  tolerance: number
  /** Which latency was compared: from the intended send time when both runs were paced, else from the send. */
  latency: 'corrected' | 'latency'
  rows: ComparisonRow[]
  regressed: boolean
  verdict: string
}

export function compare(current: LoadReport, saved: LoadReport, file: string, tolerance: number): Comparison {
  // The baseline's figures from its histograms, not its summary: a file of an older version lacks some percentiles.
  const baseline = figuresOf(saved.tally, saved.config.rate !== undefined)
  const kind = current.summary.corrected && baseline.corrected ? 'corrected' : 'latency'
  const latencyOf = (figures: Figures): Latency => figures[kind] ?? figures.latency
  const rows = COMPARED.map((figure): ComparisonRow => {
    const [before, now] = figure === 'rps' ? [baseline.rps, current.summary.rps] : [latencyOf(baseline)[figure], latencyOf(current.summary)[figure]]
    const change = before === 0 ? (now === 0 ? 0 : Number.POSITIVE_INFINITY) : (now - before) / before
    const worse = figure === 'rps' ? -change : change
    return {figure, baseline: before, current: now, change: Number.isFinite(change) ? Math.round(change * 10_000) / 10_000 : null, regression: worse > tolerance}
  })
  const regressions = rows.filter((row) => row.regression)
  const percent = `${Math.round(tolerance * 1000) / 10}%`
  const verdict =
    regressions.length === 0
      ? `no regression against ${file}: every figure within ${percent}`
      : `REGRESSION against ${file}: ${regressions.map((row) => `${row.figure} ${signed(row.change)}`).join(', ')} (tolerance ${percent})`
  return {baseline: file, tolerance, latency: kind, rows, regressed: regressions.length > 0, verdict}
}

/** `+12.3%`, `-4.0%`. */
export function signed(change: number | null): string {
  if (change === null) return '+∞%'
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`
}

/** The comparison as table rows: figure, baseline, this run, change, mark. */
export function comparisonRows(comparison: Comparison): string[][] {
  const value = (figure: string, n: number) => (figure === 'rps' ? n.toFixed(1) : formatLatency(n))
  return comparison.rows.map((row) => [row.figure, value(row.figure, row.baseline), value(row.figure, row.current), signed(row.change), row.regression ? '✗ regression' : '✓'])
}
