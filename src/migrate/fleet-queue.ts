/** Runs on a database are counted again at most this often (ms) while a run meets others. */
const RECOUNT_MS = 1000

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
 *
 * Runs at once on one list share a database's sessions while they meet: from a deferral until 2 × capacity takes
 * pass without one, a database takes its capacity over the number of migrate runs on it (`countRuns`, asked at most
 * once a second). Three runs of --workers 16 then migrate on 18 sessions, not 48: on a server that 16 keep busy, the
 * other 32 only contend for its catalogs and WAL (one run at -w 48 took 1.15x the time of one at -w 16 here). Shards
 * of a list never meet and keep every session.
 */
export class FleetQueue {
  /** Per database: its targets in input order then those deferred, and the next one not taken. */
  private readonly queues: Target[][]
  private readonly next: number[]
  /** Per database: where its deferred targets begin in its queue (its count of targets). */
  private readonly firstPass: number[]
  private readonly busy: number[]
  /** Per database: the migrate runs on it when last counted, when that was, and until which take it is met. */
  private readonly runs: number[]
  private readonly countedAt: number[]
  private readonly metUntil: number[]
  private cursor = 0
  private waiting: (() => void)[] = []
  /** The target each slot took, by slot. */
  readonly taken: (Target | undefined)[]

  constructor(
    targets: readonly Target[],
    private readonly capacity: readonly number[],
    /** Told, once per database, when its deferred targets begin to be taken: then no more are deferred. */
    private readonly onSecondPass?: (database: number, deferred: Target[]) => void,
    /** How many runs are on a database now, this one included. */
    private readonly countRuns?: (database: number) => Promise<number>,
  ) {
    this.queues = capacity.map(() => [])
    for (const target of targets) this.queues[target.database]!.push(target)
    this.next = capacity.map(() => 0)
    this.firstPass = this.queues.map((queue) => queue.length)
    this.busy = capacity.map(() => 0)
    this.runs = capacity.map(() => 1)
    this.countedAt = capacity.map(() => Number.NEGATIVE_INFINITY)
    this.metUntil = capacity.map(() => 0)
    this.taken = new Array(targets.length)
  }

  /** The slot's target, with a session of its database held until `release`; rejects with the reason if `signal` aborts while waiting. */
  async acquire(slot: number, signal: AbortSignal): Promise<Target> {
    for (;;) {
      signal.throwIfAborted()
      const held = this.taken[slot]
      const target = held ? (this.busy[held.database]! < this.room(held.database) ? held : undefined) : this.pick()
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
    const {database} = target
    this.queues[database]!.push(target)
    this.taken[slot] = undefined
    this.metUntil[database] = this.next[database]! + 2 * this.capacity[database]!
    const now = performance.now()
    if (!this.countRuns || now - this.countedAt[database]! < RECOUNT_MS) return
    this.countedAt[database] = now
    this.countRuns(database).then(
      (runs) => (this.runs[database] = runs),
      () => {},
    )
  }

  /** Sessions `database` takes now: its capacity, shared with the other runs while this run meets them. */
  private room(database: number): number {
    const capacity = this.capacity[database]!
    return this.next[database]! < this.metUntil[database]! ? Math.max(1, Math.ceil(capacity / this.runs[database]!)) : capacity
  }

  /** Targets no slot took (the run stopped first, or deferred and not taken again). */
  untaken(): Target[] {
    return this.queues.flatMap((queue, database) => queue.slice(this.next[database]))
  }

  private pick(): Target | undefined {
    const count = this.queues.length
    for (let step = 0; step < count; step++) {
      const database = (this.cursor + step) % count
      if (this.next[database]! < this.queues[database]!.length && this.busy[database]! < this.room(database)) {
        this.cursor = (database + 1) % count
        const queue = this.queues[database]!
        if (this.next[database] === this.firstPass[database]) this.onSecondPass?.(database, queue.slice(this.firstPass[database]))
        return queue[this.next[database]!++]
      }
    }
    return undefined
  }
}
