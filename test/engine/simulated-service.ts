/**
 * A service on a clock the test drives: a call takes `baseMs` while at most `capacity` calls are in flight, and
 * proportionally longer beyond (K slots shared by everyone: throughput stays K / baseMs, the rest is queue), with
 * ±`jitter` of random spread from a seeded generator. Optionally it answers overload: a call beyond
 * `rejectBeyond` fails at once with an error marked overload, as a service with K slots answers 503.
 */
import {markOverload} from '../../src/engine/index.js'

export interface ServiceShape {
  capacity: number
  baseMs?: number
  jitter?: number
  /** Calls beyond this many in flight fail at once, marked overload. */
  rejectBeyond?: number
}

export class SimulatedService {
  now = 0
  inFlight = 0
  mostInFlight = 0
  completions = 0
  overloads = 0
  /** Calls to come back, soonest last. */
  private pending: {at: number; settle: () => void}[] = []
  private seed = 12_345

  constructor(public shape: ServiceShape) {}

  readonly clock = () => this.now

  call(): Promise<void> {
    const {baseMs = 20, capacity, jitter = 0.2, rejectBeyond} = this.shape
    this.inFlight++
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight)
    const rejected = rejectBeyond !== undefined && this.inFlight > rejectBeyond
    const spread = 1 + jitter * (2 * this.random() - 1)
    const latency = rejected ? 0.5 : baseMs * Math.max(1, this.inFlight / capacity) * spread
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        this.inFlight--
        this.completions++
        if (!rejected) return resolve()
        this.overloads++
        reject(markOverload(new Error('503 overloaded')))
      }
      const at = this.now + latency
      let i = this.pending.length
      while (i > 0 && this.pending[i - 1]!.at < at) i--
      this.pending.splice(i, 0, {at, settle})
    })
  }

  /** Runs the clock: lets the engine start what it will, then completes the soonest call, until `run` is done. */
  async drive<V>(run: Promise<V>, onStep: () => void = () => {}): Promise<V> {
    let finished = false
    const result = run.finally(() => (finished = true))
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve))
      const next = this.pending.pop()
      if (!next) {
        if (finished) return result
        continue
      }
      this.now = next.at
      next.settle()
      onStep()
    }
  }

  private random(): number {
    this.seed = (this.seed * 1_103_515_245 + 12_345) % 2 ** 31
    return this.seed / 2 ** 31
  }
}
