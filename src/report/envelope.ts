import type {LimitReport, Outcome} from '../engine/index.js'
import {ExitCode} from './exit-codes.js'
import {autoWorkersReport} from './workers.js'
import type {AutoWorkersReport} from './workers.js'

export type ResultStatus = 'succeeded' | 'failed' | 'cancelled'

/** What every command reports of each target; commands add their own fields. */
export interface Result {
  target: string
  status: ResultStatus
  attempts: number
  durationMs: number
}

export interface Summary {
  total: number
  succeeded: number
  failed: number
  cancelled: number
  durationMs: number
}

/** The JSON document every command prints with --json. */
export interface Envelope<R extends Result> {
  command: string
  ok: boolean
  /** Present and true when Ctrl-C stopped the run: the results are partial. */
  interrupted?: true
  summary: Summary
  /** With --workers auto: where the limit went. */
  workers?: AutoWorkersReport
  results: R[]
}

const STATUS_OF = {fulfilled: 'succeeded', rejected: 'failed', cancelled: 'cancelled'} as const

export function statusOf(outcome: Outcome<unknown>): ResultStatus {
  return STATUS_OF[outcome.status]
}

/** `limit`: the engine report's `workers`, present with auto workers. */
export function envelope<R extends Result>(command: string, results: R[], durationMs: number, interrupted: boolean, limit?: LimitReport): Envelope<R> {
  const summary: Summary = {total: results.length, succeeded: 0, failed: 0, cancelled: 0, durationMs: round(durationMs)}
  for (const result of results) summary[result.status]++
  return {
    command,
    ok: summary.failed === 0 && summary.cancelled === 0 && !interrupted,
    ...(interrupted ? {interrupted: true as const} : {}),
    summary,
    ...(limit ? {workers: autoWorkersReport(limit)} : {}),
    results,
  }
}

export function exitCodeOf(report: Envelope<Result>): ExitCode {
  if (report.interrupted) return ExitCode.interrupted
  return report.ok ? ExitCode.ok : ExitCode.failed
}

/** Milliseconds to the microsecond: enough for any report, and no float noise in JSON. */
export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
