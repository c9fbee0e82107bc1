import {setMaxListeners} from 'node:events'
import {performance} from 'node:perf_hooks'

import type PQueue from 'p-queue'

import {AdaptiveLimit} from './adaptive-limit.js'
import {abortableSleep, backoffDelay} from './backoff.js'
import {now} from './clock.js'
import {TimeoutError, WaveHaltedError, overloadOf, toError} from './errors.js'
import {Ledger, Status} from './ledger.js'
import type {ForkJoinOptions, Outcome, Report, Summary, Task, TaskContext} from './types.js'

type Source<T> = Iterable<T> | AsyncIterable<T>

/**
 * Runs `task(item, ctx)` for every item with at most `workers` in flight, and joins.
 *
 * An array gets a report whose `outcomes` hold one entry per item, in input order. Any other (async) iterable is
 * streamed: items are pulled as workers free up, outcomes go only to `onSettle`, and memory stays bounded whatever
 * the length.
 */
export function forkJoin<T, R>(items: readonly T[], task: Task<T, R>, options: ForkJoinOptions<T, R>): Promise<Report<R>>
export function forkJoin<T, R>(items: Source<T>, task: Task<T, R>, options: ForkJoinOptions<T, R>): Promise<Summary>
export async function forkJoin<T, R>(
  items: Source<T>,
  task: Task<T, R>,
  options: ForkJoinOptions<T, R>,
): Promise<Report<R> | Summary> {
  // p-queue paces --rate; loaded only for a run that has one, so that a CLI without --rate never parses it.
  const queue = options.rate ? new (await import('p-queue')).default({interval: options.rate.intervalMs, intervalCap: options.rate.limit}) : undefined
  return new Run(items, task, options, queue).execute()
}

class Context implements TaskContext {
  /** Made on first read of `signal`, and only when a timeout is set. */
  controller: AbortController | undefined = undefined
  /** Set by the sweep when this attempt overran: its signal is aborted with this. */
  expired: TimeoutError | undefined = undefined
  constructor(
    private readonly run: Run<any, any>,
    readonly index: number,
    readonly attempt: number,
  ) {}

  get signal(): AbortSignal {
    return this.run.signalFor(this)
  }

  overloaded(): void {
    this.run.overloaded()
  }
}

/**
 * One worker loop's place in the pool. When an attempt overruns its timeout the sweep orphans the lane — its loop
 * ends when the overrunning task finally settles, if ever — and launches a fresh lane in its place, so a stuck task
 * never holds a worker and no task needs a timer or a wrapping promise of its own.
 */
interface Lane {
  readonly position: number
  /** The clock reading after which the current attempt has timed out; 0 while nothing is timed. */
  deadline: number
  orphaned: boolean
  /** The timed attempt in flight: what the replacement needs to retry or settle the item. */
  context: Context | undefined
  item: unknown
  itemStarted: number
  timeoutMs: number
  /** The attempt's signal has aborted for its timeout; it is in its grace period. */
  expiring: boolean
}

/** An item whose attempt timed out, handed to the lane that replaces the orphaned one. */
interface Resume<T> {
  item: T
  index: number
  attempt: number
  error: TimeoutError
  started: number
}

const noop = () => {}

class Run<T, R> {
  /** The fixed pool size, or with auto workers the most the limit may reach. */
  private readonly workers: number
  /** With auto workers: the limit, which the lanes follow (see admit and grow). */
  private readonly limiter: AdaptiveLimit | undefined
  /** With auto workers: lanes launched in this wave and not retired. */
  private running = 0
  /** With auto workers: positions of retired lanes, reused by the next ones launched. */
  private free: number[] = []
  private nextPosition = 0
  /**
   * With auto workers: more lanes run than the limit. The wave's bound is then pulled in to `next`, so that each
   * lane's next take finds the wave closed and retires (see ended): the pool's hot path pays nothing for it.
   */
  private shrinking = false
  /** The wave's real bound while `end` is pulled in. */
  private waveEnd = Number.POSITIVE_INFINITY
  /** Whether each attempt waits at the gate first: for the rate limit, or a Retry-After pause. */
  private gated = false
  /** A Retry-After from a task: no attempt starts before this clock reading. */
  private pausedUntil = 0
  private readonly failFast: boolean
  /** Whether attempts run against a deadline: then each gets its own signal, and the sweep runs. */
  private readonly timed: boolean
  private readonly timeoutFor: (item: T) => number
  private readonly retriesFor: (item: T) => number
  private readonly controller = new AbortController()
  private readonly signal = this.controller.signal
  /** Mirrors `signal.aborted`, which is a getter with checks: the hot loop reads this instead. */
  private stopped = false
  private readonly lanes: Lane[] = []
  private active = 0
  private joined: (() => void) | undefined
  private crashed: ((error: unknown) => void) | undefined
  private readonly queue: PQueue | undefined
  private readonly array: readonly T[] | undefined
  private readonly iterator: Iterator<T> | AsyncIterator<T> | undefined
  private readonly sync: boolean
  /** Serializes pulls from an async iterator, whose next() may not tolerate concurrent calls. */
  private pulling: Promise<unknown> = Promise.resolve()
  private exhausted = false
  private readonly ledger: Ledger<R> | undefined
  private next = 0
  /** Exclusive bound on the indexes the current wave may take. */
  private end = Number.POSITIVE_INFINITY
  private fulfilled = 0
  private rejected = 0
  private cancelled = 0
  private firstError: unknown = undefined

  constructor(
    items: Source<T>,
    private readonly task: Task<T, R>,
    private readonly options: ForkJoinOptions<T, R>,
    queue: PQueue | undefined,
  ) {
    const {retries = 0, timeoutMs = 0} = options
    const workers = typeof options.workers === 'number' ? options.workers : options.workers.auto.max
    if (typeof options.workers === 'object') {
      this.limiter = new AdaptiveLimit({clock: now, ...options.workers.auto}, options.onLimit)
    } else if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`workers must be a whole number >= 1 or {auto: {min, max}}, got ${workers}`)
    }
    if (typeof timeoutMs === 'number' && !(timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${timeoutMs}`)
    if (typeof retries === 'number' && !(Number.isInteger(retries) && retries >= 0)) {
      throw new RangeError(`retries must be a whole number >= 0, got ${retries}`)
    }
    for (const size of options.waves ?? []) {
      if (!Number.isInteger(size) || size < 1) throw new RangeError(`each wave must be a whole number >= 1, got ${size}`)
    }
    this.workers = workers
    this.failFast = (options.mode ?? 'fail-fast') === 'fail-fast'
    this.timed = typeof timeoutMs === 'function' || timeoutMs > 0
    this.timeoutFor = typeof timeoutMs === 'function' ? timeoutMs : () => timeoutMs
    this.retriesFor = typeof retries === 'function' ? retries : () => retries
    this.sync = !(Symbol.asyncIterator in items)
    if (Array.isArray(items)) {
      this.array = items
      this.ledger = new Ledger(items.length)
    } else if (this.sync) {
      this.iterator = (items as Iterable<T>)[Symbol.iterator]()
    } else {
      this.iterator = (items as AsyncIterable<T>)[Symbol.asyncIterator]()
    }
    this.queue = queue
    this.gated = this.queue !== undefined
    // Every per-attempt controller and every backoff sleep listens to the one run signal.
    setMaxListeners(0, this.signal)
  }

  async execute(): Promise<Report<R> | Summary> {
    const started = performance.now()
    const outer = this.options.signal
    const onOuterAbort = () => this.stop(outer!.reason)
    if (outer?.aborted) this.stop(outer.reason)
    else outer?.addEventListener('abort', onOuterAbort, {once: true})
    const {timeoutMs} = this.options
    const sweep = this.timed ? setInterval(() => this.sweep(), sweepInterval(timeoutMs)) : undefined
    try {
      await this.runWaves()
    } finally {
      if (sweep) clearInterval(sweep)
      outer?.removeEventListener('abort', onOuterAbort)
      if (!this.exhausted) await this.closeIterator()
    }
    this.cancelUnstarted()
    const summary: Summary = {
      total: this.array ? this.array.length : this.next,
      fulfilled: this.fulfilled,
      rejected: this.rejected,
      cancelled: this.cancelled,
      firstError: this.firstError,
      stopped: this.stopped,
      stopReason: this.stopped ? this.signal.reason : undefined,
      durationMs: performance.now() - started,
    }
    if (this.limiter) summary.workers = this.limiter.report()
    const {ledger} = this
    if (!ledger) return summary
    let outcomes: Outcome<R>[] | undefined
    return Object.defineProperty(summary, 'outcomes', {
      enumerable: true,
      get: () => (outcomes ??= ledger.outcomes(summary.stopReason)),
    }) as Report<R>
  }

  /** Behind `ctx.signal`: the run's own signal, or with a timeout a per-attempt one that the sweep can abort. */
  signalFor(ctx: Context): AbortSignal {
    if (!this.timed) return this.signal
    if (ctx.controller === undefined) {
      ctx.controller = new AbortController()
      const reason = ctx.expired ?? (this.stopped ? this.signal.reason : undefined)
      if (reason !== undefined) ctx.controller.abort(reason)
    }
    return ctx.controller.signal
  }

  private stop(reason: unknown): void {
    if (this.stopped) return
    this.stopped = true
    this.controller.abort(reason)
    for (const lane of this.lanes) lane.context?.controller?.abort(reason)
  }

  private async runWaves(): Promise<void> {
    let wave = 0
    for (const size of this.options.waves ?? []) {
      wave++
      const failuresBefore = this.rejected
      this.end = this.next + size
      await this.join()
      if (this.stopped || this.exhausted || (this.array && this.next >= this.array.length)) return
      if (this.rejected > failuresBefore) {
        this.stop(new WaveHaltedError(wave, this.rejected - failuresBefore))
        return
      }
    }
    this.end = Number.POSITIVE_INFINITY
    await this.join()
  }

  /** Forks the worker loops for the current wave and waits for all of them: never for the tasks' own promises. */
  private join(): Promise<void> {
    const available = (this.array ? Math.min(this.end, this.array.length) : this.end) - this.next
    const count = Math.min(this.limiter ? this.limiter.limit : this.workers, available)
    if (count <= 0) return Promise.resolve()
    this.running = count
    this.free = []
    this.nextPosition = count
    this.shrinking = false
    return new Promise<void>((resolve, reject) => {
      this.active = count
      this.joined = resolve
      this.crashed = reject
      for (let position = 0; position < count; position++) this.launch(this.lanes[position] ?? this.newLane(position))
    })
  }

  /** With auto workers, after a task settled: the limit learns of it, and lanes are launched when it rose. */
  private adapt(): void {
    const limiter = this.limiter!
    const before = limiter.limit
    limiter.finished()
    if (limiter.limit !== before) this.follow()
  }

  /** With auto workers, after the limit rose: launches lanes up to it, as long as there are items for them. */
  private grow(): void {
    if (this.stopped || this.active === 0 || this.exhausted) return
    const available = (this.array ? Math.min(this.end, this.array.length) : this.end) - this.next
    const count = Math.min(this.limiter!.limit - this.running, available)
    for (let i = 0; i < count; i++) {
      const position = this.free.pop() ?? this.nextPosition++
      this.running++
      this.active++
      this.launch(this.lanes[position] ?? this.newLane(position))
    }
  }

  /** With auto workers, after the limit moved: lanes above it are to retire, and lanes are launched when it rose. */
  private follow(): void {
    const {limit} = this.limiter!
    if (this.running > limit) {
      if (this.shrinking) return
      this.shrinking = true
      this.waveEnd = this.end
      this.end = this.next
      return
    }
    if (this.shrinking) {
      this.shrinking = false
      this.end = this.waveEnd
    }
    if (limit > this.running) this.grow()
  }

  /**
   * A lane found no item for it: returns -1. With auto workers the wave may only look closed, `end` pulled in
   * because the limit fell: then this lane retires (in flight never exceeds the limit: tasks in flight finish, no
   * new ones start), and once enough have, the bound is put back.
   */
  private ended(lane: Lane): -1 {
    if (!this.shrinking) return -1
    this.running--
    this.free.push(lane.position)
    if (this.running <= this.limiter!.limit) {
      this.shrinking = false
      this.end = this.waveEnd
    }
    return -1
  }

  /** An overload signal, from a failed attempt or a task's ctx.overloaded(): with auto workers the limit halves. */
  overloaded(): void {
    if (this.limiter === undefined) return
    this.limiter.overloaded()
    this.follow()
  }

  /** A failed attempt that carries an overload signal: the limit halves, and a Retry-After pauses every start. */
  private noteOverload(thrown: unknown): void {
    const overload = overloadOf(thrown)
    if (!overload) return
    this.overloaded()
    if (overload.retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, now() + overload.retryAfterMs)
      this.gated = true
    }
  }

  private newLane(position: number): Lane {
    const lane: Lane = {position, deadline: 0, orphaned: false, context: undefined, item: undefined, itemStarted: 0, timeoutMs: 0, expiring: false}
    this.lanes[position] = lane
    return lane
  }

  private launch(lane: Lane, resume?: Resume<T>): void {
    this.worker(lane, resume).then(() => {
      // An orphaned lane's place, and its share of `active`, went to its replacement.
      if (!lane.orphaned && --this.active === 0) this.joined!()
    }, this.crashed)
  }

  private async worker(lane: Lane, resume: Resume<T> | undefined): Promise<void> {
    if (resume && !(await this.retry(lane, resume.item, resume.index, resume.attempt, resume.error, resume.started))) return
    // The clock is read once per task: a task starts when the one before it in this lane settled. Every value live
    // across an await is saved and restored at each one, so the item and the rest stay on the lane.
    let started = now()
    for (;;) {
      let index: number
      if (this.array) {
        index = this.take(lane)
      } else {
        index = this.closed() ? this.ended(lane) : this.accept(lane, this.sync ? this.pullSync() : await this.pull())
        started = now()
      }
      if (index < 0) return
      try {
        if (this.gated) started = await this.gate()
        const value = await this.attempt(lane, lane.item as T, index, 1, started)
        if (lane.orphaned) return
        started = this.fulfil(lane, index, value, started)
      } catch (thrown) {
        if (lane.orphaned) return
        lane.deadline = 0
        if (!(await this.retry(lane, lane.item as T, index, 1, thrown, started))) return
        started = now()
      }
    }
  }

  /** Whether the wave, or the run, takes no more items. */
  private closed(): boolean {
    return this.stopped || this.next >= this.end
  }

  /** Hands the lane the next item of the array: returns its index, or -1 when there is none for this wave. */
  private take(lane: Lane): number {
    const index = this.next
    if (this.closed() || index >= this.array!.length) return this.ended(lane)
    this.next = index + 1
    return this.begin(lane, index, this.array![index]!)
  }

  /** Hands the lane an item pulled from a stream: returns its index, or -1 when the stream or the run has ended. */
  private accept(lane: Lane, pulled: IteratorResult<T>): number {
    if (pulled.done) return -1
    const index = this.next++
    if (this.stopped) {
      this.settle(index, Status.cancelled, undefined, 0, 0, pulled.value)
      return -1
    }
    return this.begin(lane, index, pulled.value)
  }

  private begin(lane: Lane, index: number, item: T): number {
    lane.item = item
    if (this.limiter) this.limiter.started()
    this.options.onStart?.(index, item)
    return index
  }

  /** Starts one attempt; with a timeout, arms the lane so the sweep can end it. */
  private attempt(lane: Lane, item: T, index: number, attempt: number, itemStarted: number): R | PromiseLike<R> {
    const ctx = new Context(this, index, attempt)
    if (this.timed) {
      const timeoutMs = this.timeoutFor(item)
      lane.context = ctx
      lane.item = item
      lane.itemStarted = itemStarted
      lane.timeoutMs = timeoutMs
      lane.expiring = false
      // A fresh reading, not the shared start stamp: a stamp shared across a preemption is old by it, and a deadline
      // reckoned from it would end the attempt early (seen on a loaded machine: a 60 ms timeout after 41 ms).
      lane.deadline = timeoutMs > 0 ? performance.now() + timeoutMs : 0
    }
    return this.task(item, ctx)
  }

  /** Records a first attempt that succeeded; returns when it settled, which is when the lane's next task starts. */
  private fulfil(lane: Lane, index: number, value: R, started: number): number {
    lane.deadline = 0
    const settled = now()
    this.settle(index, Status.fulfilled, value, 1, settled - started, lane.item as T)
    return settled
  }

  /**
   * Waits for the rate limit to allow one more start, and out any Retry-After pause; returns when that was.
   * Rejects with the stop reason when the run stops meanwhile.
   */
  private async gate(): Promise<number> {
    if (this.queue) await this.queue.add(noop, {signal: this.signal})
    let at = now()
    while (this.pausedUntil > at) {
      await abortableSleep(this.pausedUntil - at, this.signal)
      at = now()
    }
    if (!this.queue && this.pausedUntil <= at) this.gated = false
    return at
  }

  /**
   * The slow path after a failed attempt: retries with backoff until one succeeds, they run out, or the run stops.
   * Settles the item, or returns false when the lane was orphaned by a timeout and its replacement took the item.
   */
  private async retry(lane: Lane, item: T, index: number, attempt: number, thrown: unknown, started: number): Promise<boolean> {
    const settle = (status: Status, payload: unknown) => {
      this.settle(index, status, payload, attempt, now() - started, item)
      return true
    }
    for (;;) {
      this.noteOverload(thrown)
      if (this.stopped) return settle(Status.cancelled, thrown)
      const error = toError(thrown)
      if (attempt > this.retriesFor(item) || !(this.options.shouldRetry?.(error, attempt, item) ?? true)) {
        return settle(Status.rejected, error)
      }
      try {
        // A Retry-After is the least wait: the other side said when it can take more.
        await abortableSleep(Math.max(backoffDelay(attempt, this.options.backoff), this.pausedUntil - now()), this.signal)
      } catch {
        return settle(Status.cancelled, error)
      }
      attempt++
      try {
        if (this.gated) await this.gate()
        const value = await this.attempt(lane, item, index, attempt, started)
        if (lane.orphaned) return false
        lane.deadline = 0
        return settle(Status.fulfilled, value)
      } catch (again) {
        if (lane.orphaned) return false
        lane.deadline = 0
        thrown = again
      }
    }
  }

  /** Ends overdue attempts: first aborts their signal, then (after any grace) hands their item to a fresh lane. */
  private sweep(): void {
    const sweptAt = performance.now()
    const grace = this.options.abortGraceMs ?? 0
    for (const lane of this.lanes) {
      if (lane.deadline === 0 || sweptAt < lane.deadline) continue
      const ctx = lane.context!
      if (!lane.expiring) {
        lane.expiring = true
        ctx.expired = new TimeoutError(lane.timeoutMs)
        ctx.controller?.abort(ctx.expired)
        if (grace > 0) {
          lane.deadline = sweptAt + grace
          continue
        }
      }
      lane.deadline = 0
      lane.orphaned = true
      const resume = {item: lane.item as T, index: ctx.index, attempt: ctx.attempt, error: ctx.expired!, started: lane.itemStarted}
      this.launch(this.newLane(lane.position), resume)
    }
  }

  private pullSync(): IteratorResult<T> {
    const result = (this.iterator as Iterator<T>).next()
    if (result.done) this.exhausted = true
    return result
  }

  private pull(): Promise<IteratorResult<T>> {
    const iterator = this.iterator!
    const pulled = this.pulling.then(async () => {
      if (this.exhausted) return {done: true, value: undefined} as IteratorResult<T>
      const result = await iterator.next()
      if (result.done) this.exhausted = true
      return result
    })
    this.pulling = pulled.catch(noop)
    return pulled
  }

  private async closeIterator(): Promise<void> {
    this.exhausted = true
    try {
      await this.iterator?.return?.()
    } catch {
      // The stream's own clean-up failing must not hide the run's report.
    }
  }

  /** Records an outcome. `payload` is the value, the error, or for a task stopped mid-flight what it threw. */
  private settle(index: number, status: Status, payload: unknown, attempts: number, durationMs: number, item: T): void {
    this.ledger?.record(index, status, payload, attempts, durationMs)
    if (this.limiter !== undefined && attempts > 0) this.adapt()
    if (status === Status.fulfilled) {
      this.fulfilled++
    } else if (status === Status.rejected) {
      this.rejected++
      this.firstError ??= payload
      if (this.failFast) this.stop(payload)
    } else {
      this.cancelled++
    }
    const {onSettle} = this.options
    if (onSettle) onSettle(index, Ledger.outcome<R>(status, payload, attempts, durationMs, this.signal.reason), item)
  }

  private cancelUnstarted(): void {
    const {array, ledger} = this
    if (!array || !ledger) return
    for (let index = ledger.firstUnsettled(0); index < array.length; index = ledger.firstUnsettled(index + 1)) {
      this.settle(index, Status.cancelled, undefined, 0, 0, array[index]!)
    }
  }
}

/**
 * How often the timeout sweep runs: a tenth of the timeout, so that a timeout fires at most 10% late, within
 * 1–250 ms; every 10 ms when each item has its own timeout.
 */
function sweepInterval(timeoutMs: unknown): number {
  return typeof timeoutMs === 'number' ? Math.min(250, Math.max(1, timeoutMs / 10)) : 10
}
