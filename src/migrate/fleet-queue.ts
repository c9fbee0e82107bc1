/** A namespace of one database of the run. */
export interface Target {
  /** Index of its database in the run's list. */
  database: number
  namespace: string
  /** What reports call it: the namespace alone on one database, `label/namespace` on several. */
  target: string
}

/**
 * Hands the engine's task slots their targets so that no database works on more than its `capacity` at once
 * while --workers bounds them all. The engine runs one slot per target; a slot takes, when it starts, the next
 * target of the next database (round robin) that has a session free — not a target fixed in advance, so that a
 * slow database never holds up lanes another could use. A slot waits only when every database with targets left
 * is at its bound. A retried slot keeps its target.
 *
 * A slot may give its target back (`defer`: another run holds it) and take another: deferred targets are taken
 * again once their database's first pass is through, and are never deferred twice. Slots and targets still pair
 * one to one: each deferral adds the one place in a queue that the deferring slot takes next.
 */
export class FleetQueue {
  /** Per database: its targets in input order then those deferred, and the next one not taken. */
  private readonly queues: Target[][]
  private readonly next: number[]
  /** Per database: where its deferred targets begin in its queue (its count of targets). */
  private readonly firstPass: number[]
  private readonly busy: number[]
  private cursor = 0
  private waiting: (() => void)[] = []
  /** The target each slot took, by slot. */
  readonly taken: (Target | undefined)[]

  constructor(
    targets: readonly Target[],
    private readonly capacity: readonly number[],
    /** Told, once per database, when its deferred targets begin to be taken: then no more are deferred. */
    private readonly onSecondPass?: (database: number, deferred: Target[]) => void,
  ) {
    this.queues = capacity.map(() => [])
    for (const target of targets) this.queues[target.database]!.push(target)
    this.next = capacity.map(() => 0)
    this.firstPass = this.queues.map((queue) => queue.length)
    this.busy = capacity.map(() => 0)
    this.taken = new Array(targets.length)
  }

  /** The slot's target, with a session of its database held until `release`; rejects with the reason if `signal` aborts while waiting. */
  async acquire(slot: number, signal: AbortSignal): Promise<Target> {
    for (;;) {
      signal.throwIfAborted()
      const held = this.taken[slot]
      const target = held ? (this.busy[held.database]! < this.capacity[held.database]! ? held : undefined) : this.pick()
      if (target) {
        this.busy[target.database]!++
        this.taken[slot] = target
        return target
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake)
          resolve()
        }
        this.waiting.push(wake)
        signal.addEventListener('abort', wake)
      })
    }
  }

  release(target: Target): void {
    this.busy[target.database]!--
    const waiting = this.waiting
    this.waiting = []
    for (const wake of waiting) wake()
  }

  /**
   * Whether a slot may give `target` back rather than wait for it: while its database's first pass has targets
   * left to take meanwhile (and so no deferred target has been taken again yet).
   */
  mayDefer(target: Target): boolean {
    return this.next[target.database]! < this.firstPass[target.database]!
  }

  /** The slot gives its target back, to its database's deferred ones, and takes another on its next acquire. */
  defer(slot: number, target: Target): void {
    this.queues[target.database]!.push(target)
    this.taken[slot] = undefined
  }

  /** Targets no slot took (the run stopped first, or deferred and not taken again). */
  untaken(): Target[] {
    return this.queues.flatMap((queue, database) => queue.slice(this.next[database]))
  }

  private pick(): Target | undefined {
    const count = this.queues.length
    for (let step = 0; step < count; step++) {
      const database = (this.cursor + step) % count
      if (this.next[database]! < this.queues[database]!.length && this.busy[database]! < this.capacity[database]!) {
        this.cursor = (database + 1) % count
        const queue = this.queues[database]!
        if (this.next[database] === this.firstPass[database]) this.onSecondPass?.(database, queue.slice(this.firstPass[database]))
        return queue[this.next[database]!++]
      }
    }
    return undefined
  }
}
