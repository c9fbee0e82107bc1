import type {LimitReport} from '../engine/index.js'
import {round} from './envelope.js'
import type {Envelope, Result} from './envelope.js'

/** An adaptive limit in a --json document: its bounds, the range it moved in, where it settled, its path. */
export interface AutoWorkersReport {
  auto: true
  min: number
  max: number
  initial: number
  /** The lowest and highest the limit went. */
  range: [number, number]
  /** The limit most completions ran at. */
  settled: number
  final: number
  /** How many overloads cut the limit. */
  overloads: number
  /** The limit over time (ms since the start), at most 256 samples. */
  samples: {atMs: number; limit: number}[]
}

export function autoWorkersReport(limit: LimitReport): AutoWorkersReport {
  const limits = limit.samples.map((sample) => sample.limit)
  return {
    auto: true,
    min: limit.min,
    max: limit.max,
    initial: limit.initial,
    range: [Math.min(...limits), Math.max(...limits)],
    settled: limit.settled,
    final: limit.final,
    overloads: limit.overloads,
    samples: limit.samples.map(({atMs, limit}) => ({atMs: round(atMs), limit})),
  }
}

/** The report's line: `workers: auto, 3–9, settled at 6`, and `, halved on overload 2×` when overload cut it. */
export function autoWorkersLine(report: AutoWorkersReport): string {
  const [low, high] = report.range
  const cuts = report.overloads > 0 ? `, halved on overload ${report.overloads}×` : ''
  return `workers: auto, ${low === high ? low : `${low}–${high}`}, settled at ${report.settled}${cuts}`
}

/** What a text report adds after its counts: the auto workers line on a line of its own, or nothing. */
export function workersNote(report: Envelope<Result>): string {
  return report.workers ? `\n${autoWorkersLine(report.workers)}` : ''
}
