import {figuresOf} from './figures.js'
import type {Figures} from './figures.js'
import type {Tally} from './tally.js'
import {evaluate} from './thresholds.js'
import type {Threshold, ThresholdResult} from './thresholds.js'

/** What `loadtest --json` prints and `--output` writes; `loadtest merge` reads these back. */
export interface LoadReport {
  /** `loadtest merge` for a merged report; merge reads both back. */
  command: 'loadtest' | 'loadtest merge'
  /** No threshold breached, and not interrupted. */
  ok: boolean
  interrupted?: true
  summary: Figures
  status: Record<string, number>
  errors: Tally['errors']
  thresholds: ThresholdResult[]
  /** How the run was driven (for a merge: of the first file). */
  config: {urls: string[]; workers: number; threads: number; rate?: number; pipelining: number; shards?: number}
  /** The raw figures, histograms in HdrHistogram's compressed base64: what merges. */
  tally: Tally
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
    ok: !interrupted && results.every((result) => result.pass),
    ...(interrupted ? {interrupted: true as const} : {}),
    summary,
    status: tally.statuses,
    errors: tally.errors,
    thresholds: results,
    config,
    tally,
  }
}
