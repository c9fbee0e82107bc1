import type {SecureContext} from 'node:tls'

import type {Origin, Request} from './requests.js'
import {LATE_MS, Recorder} from './recorder.js'
import type {ErrorKind} from './recorder.js'
import {secureContextOf} from './tls.js'
import type {TlsPlan} from './tls.js'

export interface LoadPlan {
  origin: Origin
  requests: Request[]
  workers: number
  /** Length of the measured phase (after the warm-up); unbounded when the run is bounded by `requestCount`. */
  durationMs?: number
  /** Measured requests to send in all. */
  requestCount?: number
  /** Requests per second, sent evenly on a schedule (wrk2's constant arrival rate). */
  rate?: number
  pipelining: number
  timeoutMs: number
  warmupMs: number
  /** https://: certificates, verification, SNI and ALPN. */
  tls?: TlsPlan
  /** HTTP/2 (--http2, or chosen by ALPN under --http auto) with up to `streams` requests in flight per connection. */
  http2?: {streams: number}
}

/** A send the schedule allows: when it was meant to go out (0: now) and whether it is measured. */
export interface Slot {
  intendedAt: number
  counted: boolean
}

/**
 * What the workers of one thread share: the schedule (--rate), the request budget (--requests), the warm-up,
 * the round-robin over requests, and the counts that reconcile: sent = completed + errors + in flight.
 */
export class LoadState {
  readonly recorder = new Recorder()
  /** The thread's TLS context, shared by its connections. */
  readonly tls: {plan: TlsPlan; context: SecureContext} | undefined
  readonly startedAt = performance.now()
  readonly measureFrom: number
  readonly deadline: number
  /** Measured requests sent and not settled. */
  inFlight = 0
  /** Every request sent and not settled, warm-up ones too. */
  private outstanding = 0
  private stopping = false
  private stoppedAt = 0
  private finishedAt = 0
  private budget: number
  private scheduled = 0
  private next = 0
  private readonly interval: number
  private readonly slot: Slot = {intendedAt: 0, counted: false}
  private finish!: () => void
  private stopped!: () => void
  /** Resolves when nothing is outstanding and nothing more will be sent. */
  readonly finished = new Promise<void>((resolve) => (this.finish = resolve))
  /** Resolves when sending stops: the deadline, Ctrl-C, or the budget spent. */
  readonly sendingStopped = new Promise<void>((resolve) => (this.stopped = resolve))

  constructor(readonly plan: LoadPlan) {
    this.measureFrom = this.startedAt + plan.warmupMs
    this.deadline = plan.durationMs === undefined ? Number.POSITIVE_INFINITY : this.measureFrom + plan.durationMs
    this.budget = plan.requestCount ?? Number.POSITIVE_INFINITY
    this.interval = plan.rate ? 1000 / plan.rate : 0
    this.tls = plan.tls && {plan: plan.tls, context: secureContextOf(plan.tls)}
  }

  /** The next send, or undefined when the run wants no more. The Slot object is reused: read it at once. */
  take(now = performance.now()): Slot | undefined {
    if (this.stopping) return undefined
    let at = now
    if (this.interval > 0) {
      at = this.startedAt + this.scheduled * this.interval
      if (at >= this.deadline) return undefined
      this.scheduled++
      this.slot.intendedAt = at
    } else {
      if (at >= this.deadline) return undefined
      this.slot.intendedAt = 0
    }
    const counted = at >= this.measureFrom
    if (counted) {
      if (this.budget === 0) return undefined
      this.budget--
    }
    this.slot.counted = counted
    return this.slot
  }

  /** A slot taken but not sent (the worker closed): its request goes back to the budget. */
  release(counted: boolean): void {
    if (counted) this.budget++
  }

  wantsMore(): boolean {
    return !this.stopping && performance.now() < this.deadline && this.budget > 0
  }

  nextRequest(): Request {
    const {requests} = this.plan
    return requests.length === 1 ? requests[0]! : requests[this.nextIndex()]!
  }

  /** The round-robin's next position in `plan.requests`. */
  nextIndex(): number {
    return this.next++ % this.plan.requests.length
  }

  sent(counted: boolean, lagMs: number): void {
    this.outstanding++
    if (!counted) return
    this.recorder.sent++
    this.inFlight++
    if (lagMs > LATE_MS) this.recorder.late++
  }

  response(counted: boolean, status: number, sentAt: number, intendedAt: number, now = performance.now()): void {
    this.outstanding--
    if (counted) {
      this.inFlight--
      this.recorder.response(status, Math.round((now - sentAt) * 1000), this.interval > 0 ? Math.round((now - intendedAt) * 1000) : -1)
    }
    this.idle()
  }

  /**
   * A request sent that the server says it never processed (HTTP/2: above a GOAWAY's last stream, REFUSED_STREAM):
   * it is taken back, to go again on another connection.
   */
  unsent(counted: boolean): void {
    this.outstanding--
    if (counted) {
      this.recorder.sent--
      this.inFlight--
      this.budget++
    }
    this.idle()
  }

  /** `requests` in flight (`counted` of them measured) failed with the connection. */
  error(kind: ErrorKind, message: string, requests: number, counted: number): void {
    this.outstanding -= requests
    this.inFlight -= counted
    if (counted > 0) this.recorder.error(kind, message, counted)
    this.idle()
  }

  /** Called when a worker has nothing to send: the run is over once the budget is spent and answered. */
  idle(): void {
    if (this.budget === 0 && !this.stopping) this.stop()
    if (this.outstanding === 0 && this.stopping && !this.finishedAt) {
      this.finishedAt = performance.now()
      this.finish()
    }
  }

  /** Stops new sends (deadline, Ctrl-C); the run finishes as soon as nothing is outstanding. */
  stop(): void {
    if (this.stopping) return
    this.stopping = true
    this.stoppedAt = performance.now()
    this.stopped()
    this.idle()
  }

  /** The measured phase's length: to the last answer of a request budget, else to the stop (or now). */
  get measuredMs(): number {
    const end = Math.min((this.plan.requestCount === undefined ? this.stoppedAt : this.finishedAt) || performance.now(), this.deadline)
    return Math.max(0, end - this.measureFrom)
  }

  /** --rate: sends the schedule planned for the measured phase that never went out (the workers fell behind). */
  get missed(): number {
    if (this.interval === 0) return 0
    const end = Math.min(this.stoppedAt || performance.now(), this.deadline)
    const planned = Math.floor((end - this.startedAt) / this.interval)
    return Math.max(0, planned - this.scheduled)
  }
}
