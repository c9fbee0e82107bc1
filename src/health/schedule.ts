import {envelope} from '../report/envelope.js'
import type {Envelope} from '../report/envelope.js'
import type {Check} from './check.js'
import type {HealthResult} from './result.js'

/**
 * Which checks a --watch round runs: every check each round, except one with an `interval` of its own (Gatus's
 * per-endpoint interval), which runs when that interval has passed since it last ran. --watch is then the tick: an
 * interval is kept to within half a tick.
 */
export class Schedule {
  private readonly lastRun: number[]

  constructor(
    private readonly checks: Check[],
    private readonly tickMs: number,
  ) {
    this.lastRun = new Array<number>(checks.length).fill(Number.NEGATIVE_INFINITY)
  }

  /** Indexes of the checks due at `now`, marked as run. */
  due(now = performance.now()): number[] {
    const due: number[] = []
    for (let i = 0; i < this.checks.length; i++) {
      const interval = this.checks[i]!.intervalMs
      if (interval === undefined || now - this.lastRun[i]! >= interval - this.tickMs / 2) {
        due.push(i)
        this.lastRun[i] = now
      }
    }
    return due
  }
}

/**
 * A round's report over every check: the results of the checks that ran (`ran[k]` is the index of `report.results[k]`),
 * and for the others their last result, so that every report (and the file it is written to) covers every check.
 */
export function withCarriedOver(previous: Envelope<HealthResult> | undefined, ran: number[], report: Envelope<HealthResult>): Envelope<HealthResult> {
  if (!previous || ran.length === previous.results.length) return report
  const results = [...previous.results]
  ran.forEach((index, k) => (results[index] = report.results[k]!))
  // The round's own fields (shard stamp, workers) stay; the counts are over every check.
  const {ok, summary} = envelope('healthcheck', results, report.summary.durationMs, report.interrupted === true)
  return {...report, ok, summary, results}
}
