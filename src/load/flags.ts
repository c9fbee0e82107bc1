import {Flags} from '@oclif/core'

import {UsageError} from '../cli/errors.js'

/**
 * The picture and the comparison, as loadtest and merge take them: here rather than in the loadtest command, so
 * that merge declares them without loading the load generator.
 */
export const reportFlags = {
  report: Flags.string({helpValue: '<file.html>', summary: 'Write one self-contained HTML page here: latency spectrum, req/s and p50/p99 over time, status codes and errors over time, config and thresholds.'}),
  compare: Flags.string({helpValue: '<baseline.json>', summary: 'Compare with a saved run (loadtest --output or --json): each percentile and req/s, and a verdict; a regression beyond --tolerance exits 1.'}),
  tolerance: Flags.custom<number>({helpValue: '<percent>', parse: async (input) => parseTolerance(input)})({summary: 'How much worse a figure may be than the --compare baseline before it is a regression.', default: 0.05, defaultHelp: async () => '5%'}),
}

/** `--tolerance 5%` (or `5`): a fraction. */
export function parseTolerance(input: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(input)
  if (!match) throw new UsageError(`--tolerance expects a percentage like 5% or 2.5%; got "${input}"`)
  return Number(match[1]) / 100
}
