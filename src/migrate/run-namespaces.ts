import {forkJoin, markOverload} from '../engine/index.js'
import type {ForkJoinOptions, Outcome} from '../engine/index.js'
import {envelope, round, statusOf} from '../report/envelope.js'
import type {Envelope, Result, ResultStatus} from '../report/envelope.js'
import {NamespaceFailure, NamespaceStopped, isOverload, isTransient} from './failures.js'

/** A namespace's line in every migrate report: what the work returned, or where it stood when it failed. */
export type NamespaceResult<V extends object> = Result & Partial<V> & {error?: NamespaceError}

/** `code`: the SQLSTATE of a failed migration, else what kind of failure it was (as in every command's report). */
export interface NamespaceError {
  code: string
  message: string
}

export type RunOptions<V> = Pick<ForkJoinOptions<string, V>, 'workers' | 'mode' | 'waves' | 'rate' | 'retries' | 'signal' | 'onLimit' | 'onStart' | 'onSettle'>

/**
 * Runs `work` for each namespace on the engine and turns the outcomes into the shared envelope. Only failures
 * that may pass (lost connections, deadlocks) are retried: a SQL error in a migration fails the same way again.
 */
export async function runNamespaces<V extends object>(
  command: string,
  namespaces: string[],
  work: (namespace: string, signal: AbortSignal) => Promise<V>,
  options: RunOptions<V>,
): Promise<Envelope<NamespaceResult<V>>> {
  const task = async (namespace: string, signal: AbortSignal) => {
    try {
      return await work(namespace, signal)
    } catch (error) {
      throw isOverload(error) ? markOverload(error as Error) : error
    }
  }
  const report = await forkJoin(namespaces, (namespace, ctx) => task(namespace, ctx.signal), {
    ...options,
    shouldRetry: isTransient,
    backoff: {initialMs: 500},
  })
  const results = report.outcomes.map((outcome, index) => resultOf(namespaces[index]!, outcome))
  return envelope(command, results, report.durationMs, options.signal?.aborted ?? false, report.workers)
}

function resultOf<V extends object>(namespace: string, outcome: Outcome<V>): NamespaceResult<V> {
  const base = {target: namespace, status: statusOf(outcome) as ResultStatus, attempts: outcome.attempts, durationMs: round(outcome.durationMs)}
  if (outcome.status === 'fulfilled') return {...base, ...outcome.value}
  const error = outcome.error
  if (error === undefined) return base as NamespaceResult<V>
  const message = error instanceof Error ? error.message : String(error)
  // The engine calls an item that failed after the run was stopped cancelled; a namespace whose own migration
  // failed is failed whatever else happened, as `status` then shows it (blocked, or at its last good version).
  if (base.status === 'cancelled' && error instanceof NamespaceFailure && !(error instanceof NamespaceStopped)) base.status = 'failed'
  // Where a failed or stopped namespace stood: the fields of a migrate result it had reached.
  const progress = error instanceof NamespaceFailure ? error.progress : {}
  return {...base, ...progress, error: {code: codeOf(base.status === 'cancelled', error), message}} as NamespaceResult<V>
}

function codeOf(cancelled: boolean, error: unknown): string {
  if (error instanceof NamespaceStopped) return 'stopped'
  if (cancelled) return 'cancelled'
  // A NamespaceFailure without a SQLSTATE was refused before any SQL ran (drift, a recorded failure, no schema).
  if (error instanceof NamespaceFailure) return error.sqlstate ?? 'refused'
  // The engine's own errors (timeout, wave halted) and Node's (ECONNREFUSED) carry a code.
  const code = (error as {code?: unknown})?.code
  return typeof code === 'string' ? code : 'error'
}
