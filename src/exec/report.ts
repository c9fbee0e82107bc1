import type {Outcome} from '../engine/index.js'
import {envelope, round, statusOf} from '../report/envelope.js'
import type {Envelope, Result} from '../report/envelope.js'
import {formatDuration} from '../cli/values.js'
import {maskCredentials} from '../report/mask.js'
import {renderTable} from '../report/table.js'
import {workersNote} from '../report/workers.js'
import type {LimitReport} from '../engine/index.js'
import {ChildFailed} from './child.js'
import type {ChildResult} from './child.js'

export interface ExecResult extends Result {
  exitCode: number | null
  signal: string | null
  error?: {code: string; message: string}
  stdout: string[]
  stderr: string[]
}

export function execResult(target: string, outcome: Outcome<ChildResult>): ExecResult {
  const base = {target: maskCredentials(target), status: statusOf(outcome), attempts: outcome.attempts, durationMs: round(outcome.durationMs)}
  if (outcome.status === 'fulfilled') return {...base, ...childFields(outcome.value)}
  const thrown = outcome.status === 'rejected' ? outcome.error : outcome.error
  if (thrown instanceof ChildFailed) {
    const code = outcome.status === 'cancelled' ? 'cancelled' : thrown.code
    return {...base, ...childFields(thrown.result), error: {code, message: thrown.message}}
  }
  const message = outcome.status === 'cancelled' ? 'not started: the run stopped first' : String((thrown as Error)?.message)
  return {...base, exitCode: null, signal: null, stdout: [], stderr: [], error: {code: outcome.status === 'cancelled' ? 'cancelled' : 'error', message}}
}

function childFields({exitCode, signal, stderr, stdout}: ChildResult) {
  return {exitCode, signal, stdout, stderr}
}

/** More targets than this and the report lists every failure but only this many of the rest (all with --all). */
export const LIST_LIMIT = 50

/**
 * Failures first, then cancellations, then successes, each group in input order, in one pass (100,000 targets draw
 * in well under a second). Past LIST_LIMIT targets only failures are all listed; --all lists every one.
 */
export function renderExecReport(report: Envelope<ExecResult>, options: {all?: boolean} = {}, stream: NodeJS.WriteStream = process.stdout): string {
  const groups: Record<ExecResult['status'], ExecResult[]> = {failed: [], cancelled: [], succeeded: []}
  for (const result of report.results) groups[result.status].push(result)
  const capped = !options.all && report.results.length > LIST_LIMIT
  const rest = [...groups.cancelled, ...groups.succeeded]
  const shownRest = capped ? rest.slice(0, Math.max(0, LIST_LIMIT - groups.failed.length)) : rest
  const rows = [...groups.failed, ...shownRest].map((r) => [
    r.target,
    r.status,
    r.exitCode === null ? (r.signal ?? '-') : String(r.exitCode),
    String(r.attempts),
    r.attempts === 0 ? '-' : formatDuration(r.durationMs),
    lastLines(r),
  ])
  const hidden = rest.length - shownRest.length
  const more = hidden > 0 ? `\n(${hidden} more not listed, none failed: --all lists every target, --json gives all)` : ''
  const table = renderTable(['target', 'status', 'exit', 'tries', 'time', 'last stderr of failures'], rows, stream)
  const {cancelled, durationMs, failed, succeeded, total} = report.summary
  const counts = `${total} target${total === 1 ? '' : 's'}: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled`
  const tail = report.interrupted ? ' — interrupted, partial report' : ''
  return `${table}${more}\n${counts} in ${formatDuration(durationMs)}${tail}${workersNote(report)}`
}

/** What a failure printed last, and why it stopped; nothing for successes, whose stderr is usually progress chatter. */
function lastLines(result: ExecResult): string {
  if (result.status === 'succeeded') return ''
  const lines = result.stderr.slice(-3).map((line) => (line.length > 100 ? `${line.slice(0, 99)}…` : line))
  if (result.error) lines.push(`(${result.error.message})`)
  return lines.join('\n')
}

export function execEnvelope(results: ExecResult[], durationMs: number, interrupted: boolean, limit?: LimitReport): Envelope<ExecResult> {
  return envelope('exec', results, durationMs, interrupted, limit)
}
