import type {Outcome} from './types.js'

export const Status = {unsettled: 0, fulfilled: 1, rejected: 2, cancelled: 3} as const
export type Status = (typeof Status)[keyof typeof Status]

/**
 * The outcomes of an array run, kept in columns (typed arrays and one payload array) while the run is hot.
 * A million outcome objects made mid-run survive young-generation GC and cost more than the tasks themselves;
 * made in one pass afterwards, on first read of `report.outcomes`, they cost a fraction of that.
 */
export class Ledger<R> {
  private readonly status: Uint8Array
  private readonly attempts: Uint32Array
  private readonly durations: Float64Array
  private readonly payloads: unknown[]

  constructor(length: number) {
    this.status = new Uint8Array(length)
    this.attempts = new Uint32Array(length).fill(1)
    this.durations = new Float64Array(length)
    this.payloads = new Array(length)
  }

  static outcome<R>(status: Status, payload: unknown, attempts: number, durationMs: number, stopReason: unknown): Outcome<R> {
    if (status === Status.fulfilled) return {status: 'fulfilled', value: payload as R, attempts, durationMs}
    if (status === Status.rejected) return {status: 'rejected', error: payload, attempts, durationMs}
    return attempts === 0
      ? {status: 'cancelled', reason: stopReason, attempts, durationMs}
      : {status: 'cancelled', reason: stopReason, error: payload, attempts, durationMs}
  }

  record(index: number, status: Status, payload: unknown, attempts: number, durationMs: number): void {
    this.status[index] = status
    this.durations[index] = durationMs
    // The columns start out as one attempt and no payload, so a first try that returns nothing writes neither:
    // with a million tasks these columns are megabytes of stores.
    if (payload !== undefined) this.payloads[index] = payload
    if (attempts !== 1) this.attempts[index] = attempts
  }

  /** The first index at or after `from` with no outcome yet (the length when there is none). */
  firstUnsettled(from: number): number {
    const index = this.status.indexOf(Status.unsettled, from)
    return index === -1 ? this.status.length : index
  }

  outcomes(stopReason: unknown): Outcome<R>[] {
    const {attempts, durations, payloads, status} = this
    const outcomes: Outcome<R>[] = new Array(status.length)
    for (let i = 0; i < status.length; i++) {
      outcomes[i] = Ledger.outcome(status[i] as Status, payloads[i], attempts[i]!, durations[i]!, stopReason)
    }
    return outcomes
  }
}
