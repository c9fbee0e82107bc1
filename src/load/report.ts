import type {Comparison} from './compare.js'
import {figuresOf, samplesOf} from './figures.js'
import type {Figures, Sample} from './figures.js'
import type {Tally} from './tally.js'
import {evaluate} from './thresholds.js'
import type {Threshold, ThresholdResult} from './thresholds.js'

/** What `loadtest --json` prints and `--output` writes; `loadtest merge` reads these back. */
export interface LoadReport {
  /** `loadtest merge` for a merged report; merge reads both back. */
  command: 'loadtest' | 'loadtest merge'
  /** No threshold breached, no regression against --compare, and not interrupted. */
  ok: boolean
  interrupted?: true
  summary: Figures
  status: Record<string, number>
  errors: Tally['errors']
  thresholds: ThresholdResult[]
  /** One row per second of the measured phase: req/s, p50/p99, status codes and errors over time. */
  samples: Sample[]
  /** How the run was driven (for a merge: of the first file). */
  config: {urls: string[]; workers: number; threads: number; rate?: number; pipelining: number; shards?: number}
  /** The raw figures, histograms in HdrHistogram's compressed base64: what merges. */
  tally: Tally
  /** With --compare: the difference against the saved run and its verdict. */
  comparison?: Comparison
}

export function loadReport(
  command: LoadReport['command'],
  tally: Tally,
  config: LoadReport['config'],
  thresholds: Threshold[],
  interrupted: boolean,
): LoadReport {
  const summary = figuresOf(tally, config.rate !== undefined)
  const results = evaluate(thresholds, summary, tally.statuses)
  return {
    command,
    ok: !interrupted && tally.completed > 0 && results.every((result) => result.pass),
    ...(interrupted ? {interrupted: true as const} : {}),
    summary,
    status: tally.statuses,
    errors: tally.errors,
    thresholds: results,
    samples: samplesOf(tally.seconds),
    config,
    tally,
  }
}

/** A run in which no request got an answer is no success: the one line that says why (its most frequent error). */
export function nothingCompleted(tally: Tally): string | undefined {
  if (tally.completed > 0) return undefined
  const [kind, entry] = Object.entries(tally.errors).sort(([, a], [, b]) => b!.count - a!.count)[0] ?? []
  if (!kind) return tally.sent === 0 ? 'no request was sent' : `no request completed: ${tally.sent} sent, none answered`
  return `no request completed: ${entry!.count} of ${tally.sent} failed with ${kind} errors, the first: ${entry!.first}`
}
