import {forkJoin, markOverload} from '../engine/index.js'
import type {ForkJoinOptions, Outcome} from '../engine/index.js'
import {envelope, round, statusOf} from '../report/envelope.js'
import type {Envelope, Result, ResultStatus} from '../report/envelope.js'
import {FleetQueue} from './fleet-queue.js'
import type {Target} from './fleet-queue.js'
import {LockTaken, NamespaceFailure, NamespaceStopped, isOverload, isRefused, isTransient} from './failures.js'
import {NamespaceBusy} from './namespace-lock.js'

/** A namespace's line in every migrate report: what the work returned, or where it stood when it failed. */
export type NamespaceResult<V extends object> = Result & Partial<V> & {error?: NamespaceError}

/** `code`: the SQLSTATE of a failed migration, else what kind of failure it was (as in every command's report). */
export interface NamespaceError {
  code: string
  message: string
}

export type RunOptions<V> = Pick<ForkJoinOptions<number, V>, 'workers' | 'mode' | 'waves' | 'rate' | 'signal' | 'onLimit' | 'onStart'> & {retries?: number}

/**
 * Tries beyond --retries for a namespace the server refused a connection (too many clients, 53300): nothing ran,
 * so another try is always safe, and with --workers auto such a refusal is the limit's probe going past what the
 * server takes (the limit halves at once), not the namespace's fault: under fail-fast it cancelled the whole run.
 */
const REFUSED_RETRIES = 5

/**
 * Runs `work` for each target on the engine and turns the outcomes into the shared envelope, in input order.
 * `capacity` bounds each database's targets in flight (see FleetQueue). Only failures that may pass (lost
 * connections, deadlocks) are retried: a SQL error in a migration fails the same way again. `fields` adds to each
 * result (which database it is of, on several).
 */
export async function runNamespaces<V extends object>(
  command: string,
  targets: Target[],
  work: (target: Target, signal: AbortSignal, deferIfBusy: () => boolean) => Promise<V>,
  options: RunOptions<V> & {
    capacity: number[]
    fields?: (target: Target) => object
    onSettled?: (slot: number, outcome: Outcome<V>) => void
    /** The namespaces of a database put aside while another run held them, when the run comes back to them. */
    onRevisit?: (database: number, namespaces: string[]) => void
    /** How many runs are on a database now, this one included (see FleetQueue). */
    countRuns?: (database: number) => Promise<number>
  },
): Promise<Envelope<NamespaceResult<V>>> {
  const {onRevisit} = options
  const revisit = onRevisit && ((database: number, deferred: Target[]) => onRevisit(database, deferred.map((target) => target.namespace)))
  const queue = new FleetQueue(targets, options.capacity, revisit, options.countRuns)
  const task = async (slot: number, signal: AbortSignal) => {
    for (;;) {
      const target = await queue.acquire(slot, signal)
      try {
        return await work(target, signal, () => queue.mayDefer(target))
      } catch (error) {
        // Another run holds it: this slot takes the next target, and the namespace is taken up after the first pass.
        if (error instanceof NamespaceBusy) {
          queue.defer(slot, target)
          continue
        }
        throw isOverload(error) ? markOverload(error as Error) : error
      } finally {
        queue.release(target)
      }
    }
  }
  const slots = targets.map((_, index) => index)
  const {workers, mode, waves, rate, retries, signal, onLimit, onStart, onSettled, fields} = options
  const report = await forkJoin(slots, (slot, ctx) => task(slot, ctx.signal), {
    workers,
    mode,
    waves,
    rate,
    retries: (retries ?? 0) + REFUSED_RETRIES,
    signal,
    onLimit,
    onStart,
    shouldRetry: (error, attempt) => (attempt <= (retries ?? 0) ? isTransient(error) : isRefused(error)),
    backoff: {initialMs: 500},
    onSettle: onSettled,
  })
  // Each target's outcome: that of the slot which took it; those no slot took share the untaken slots' outcomes.
  const outcomes = new Map<Target, Outcome<V>>()
  const spare: Outcome<V>[] = []
  report.outcomes.forEach((outcome, slot) => (queue.taken[slot] ? outcomes.set(queue.taken[slot], outcome) : spare.push(outcome)))
  queue.untaken().forEach((target, index) => outcomes.set(target, spare[index]!))
  const results = targets.map((target) => {
    const result = resultOf(target.target, outcomes.get(target)!)
    // After the target, where a reader of the JSON looks for which database it is of.
    return fields ? (Object.assign({target: result.target}, fields(target), result) as NamespaceResult<V>) : result
  })
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
  if (error instanceof LockTaken) return 'locked'
  if (cancelled) return 'cancelled'
  // A NamespaceFailure without a SQLSTATE was refused before any SQL ran (drift, a recorded failure, no schema).
  if (error instanceof NamespaceFailure) return error.sqlstate ?? 'refused'
  // The engine's own errors (timeout, wave halted) and Node's (ECONNREFUSED) carry a code.
  const code = (error as {code?: unknown})?.code
  return typeof code === 'string' ? code : 'error'
}
