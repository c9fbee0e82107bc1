import {UsageError} from '../cli/errors.js'
import type {MergeRules} from '../shard/merge.js'
import type {Stamped} from '../shard/stamp.js'
import {loadReport} from './report.js'
import type {LoadReport} from './report.js'
import {decode, mergeTallies} from './tally.js'
import {parseThreshold} from './thresholds.js'
import type {Threshold} from './thresholds.js'

export type LoadDocument = Stamped & LoadReport

/**
 * Load shards run side by side, their figures add up; a paced run's corrected latency has no counterpart in an
 * unpaced one, so the two never merge silently.
 */
export const loadMergeRules: MergeRules<LoadDocument> = {
  sideBySide: true,
  traits: (document) => ({pacing: document.config.rate === undefined ? 'unpaced' : 'paced (--rate)'}),
}

/** A document whose figures cannot be read is refused, naming it, before anything merges. */
export function checkLoadDocument(document: LoadDocument, name: string): void {
  const tally = document.tally
  const counts = ['measuredMs', 'sent', 'completed', 'inFlight', 'late', 'missed'] as const
  let readable = typeof tally === 'object' && tally !== null && counts.every((key) => Number.isFinite(tally[key])) && typeof document.config?.workers === 'number'
  if (readable) {
    try {
      for (const encoded of [tally.histograms.latency, tally.histograms.corrected]) decode(encoded)
    } catch {
      readable = false
    }
  }
  if (!readable) throw new UsageError(`${name}: its loadtest figures are corrupt (counts or HDR histograms do not read); give the file loadtest --output wrote`)
}

/**
 * The report one run of all the load would have given: counts summed, HDR histograms merged exactly (percentiles
 * of every request, not an average of percentiles), workers and --rate summed. The thresholds are the ones given,
 * else those the shards were run with, judged again on the merged figures.
 */
export function mergeLoadDocuments(documents: LoadDocument[], given: Threshold[]): LoadReport {
  const first = documents[0]!
  const paced = documents.every((document) => document.config.rate !== undefined)
  const sum = (key: 'workers' | 'threads' | 'rate') => documents.reduce((total, document) => total + (document.config[key] ?? 0), 0)
  const config: LoadReport['config'] = {
    urls: first.config.urls,
    workers: sum('workers'),
    threads: sum('threads'),
    ...(paced ? {rate: sum('rate')} : {}),
    pipelining: first.config.pipelining,
    shards: documents.reduce((total, document) => total + (document.config.shards ?? 1), 0),
  }
  const thresholds = given.length > 0 ? given : first.thresholds.map((result) => parseThreshold(result.expression))
  const interrupted = documents.some((document) => document.interrupted)
  return loadReport('loadtest', mergeTallies(documents.map((document) => document.tally)), config, thresholds, interrupted)
}
