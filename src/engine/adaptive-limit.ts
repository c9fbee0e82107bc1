/**
 * The concurrency limit behind `workers: {auto: …}`: it moves while the run goes, towards the fewest tasks in flight
 * that give the most completions per second, and away from overload.
 *
 * The reasoning, in the order the limit uses it:
 *
 * - Measure in windows of completions, not of time: a window closes once about two tasks per slot have completed
 *   (at least MIN_WINDOW), so each holds two full turns of the pool whatever the tasks' latency. Throughput X is
 *   completions over the window's time; the mean number in flight L is the time-integral of in-flight over it; by
 *   Little's law (L = X·R) the mean time a task spends in flight is R = L / X.
 *   A window is never shorter than the least a task was seen to take (rMin): completions that a stalled event loop
 *   delivers at once would otherwise make a window of no duration, whose residence says tasks cost nothing.
 * - Little's law tells a queue from real work. The lowest R seen (rMin) is what a task costs when nothing waits;
 *   X·rMin is how many of the L in flight were working, and the rest were queued (in the service, a lock, the CPU).
 *   When more than a fifth of the time in flight is waiting, the limit is moved straight to the working share
 *   (plus a margin) rather than stepped down one by one: that is where throughput stops growing with the limit.
 * - Otherwise it seeks throughput, as the .NET thread pool's hill climbing does: it moves the limit up, discards
 *   the window that straddles the move (tasks started under the old limit), and keeps the move only if the next
 *   window's throughput beat the one before by more than the noise. The noise is measured, as the drift between
 *   windows at one limit, and a move is made large enough to stand out of it. Until a move fails, a queue shows
 *   or overload comes, each move doubles the limit, is judged on the window it straddles and, once kept, doubles
 *   again at once (slow start, as TCP's: one doubling per window, so a run far below its best limit gets there in a
 *   few windows; a doubling whose gain is already plain after one turn of the pool closes its window there, as a
 *   sequential test stops on strong evidence); after that a kept move doubles the next step,
 *   and a move that gave nothing is undone,
 *   the step falls back to one, and the next try waits twice as many windows as the last (up to MAX_COOLDOWN), so
 *   a settled limit stays still but a service that grew faster is still found. After a try up that gave nothing
 *   the next goes down (a run that started above its best limit never saw the service unqueued, so rMin alone
 *   cannot tell it), and is kept only if it lost less than half of what working slots would have cost; after a
 *   kept move down the next goes up again, so a cut kept on a noisy window is undone by what it cost.
 * - Overload is stronger evidence than any throughput figure: a task error the domain marks as overload (too many
 *   connections, 503, EMFILE…) halves the limit at once, as TCP halves its window on loss, and the limit just below
 *   the one that overloaded becomes a ceiling for the next CEILING_WINDOWS windows, so that probing does not knock
 *   on the same door again straight away, and for twice as long each time a knock above it overloads again (a
 *   service with a hard K answers every knock at K + 1 with an overload: the knocks grow rare, as backoff does).
 *   The errors of tasks that were already in flight when it halved tell of
 *   the same overload and are not counted again. Overload during a try upwards is that try failing: the limit goes
 *   back to where the try started (which had a whole window without overload), not to half of the try.
 * - Always within [min, max]. The engine never lets more tasks be in flight than the limit: when it falls, tasks
 *   in flight finish and no new ones start until in-flight is below it.
 *
 * The clock is injectable so that tests drive time; the engine passes its own.
 */

export interface AutoWorkers {
  /** The limit never goes below this (>= 1). */
  min: number
  /** The limit never goes above this. */
  max: number
  /** Where the limit starts. Default `min`. */
  initial?: number
  /** Milliseconds, monotonic: the engine's clock by default; tests pass one they drive. */
  clock?: () => number
}

export interface LimitSample {
  /** Milliseconds since the run started. */
  atMs: number
  limit: number
}

/** Where an adaptive limit went during a run: its bounds, the limit it spent most completions at, and its path. */
export interface LimitReport {
  min: number
  max: number
  initial: number
  settled: number
  final: number
  /** How many overloads cut the limit (the echoes of one overload, from tasks already in flight, count once). */
  overloads: number
  /** Every change of the limit, thinned to at most MAX_SAMPLES (evenly) on long runs. */
  samples: LimitSample[]
}

/** Fewest completions in a window: fewer say nothing above the noise; more make a slow service's windows seconds long. */
const MIN_WINDOW = 8
/** Completions per window, per slot of the limit: two turns of the pool average out most of a window's jitter. */
const WINDOW_TURNS = 2
/** Fraction of the time in flight spent waiting beyond which the limit is cut to the working share. */
const QUEUE_HIGH = 0.2
/** Headroom over the working share X·rMin when cutting: a limit right at the knee would starve on any jitter. */
const CUT_MARGIN = 0.1
/** Gain over one turn after a doubling in slow start that keeps it at once (a doubling that scales fully shows ~33%). */
const EARLY_GAIN = 0.2
/** The smallest relative gain that counts as an improvement, however quiet the measurements. */
const MIN_GAIN = 0.03
/** Most windows between two tries upwards after tries that gave nothing. */
const MAX_COOLDOWN = 8
/**
 * How many windows the limit below an overload stays a ceiling; twice as many each time the limit overloads again
 * above where the last overload sent it (up to MAX_CEILING_WINDOWS): a service with K slots answers every knock at K + 1 with an
 * overload, and knocking every 50 windows was a 503 every few hundred tasks for as long as the run went.
 */
const CEILING_WINDOWS = 50
const MAX_CEILING_WINDOWS = 800
/** Most samples kept of the limit's path. */
const MAX_SAMPLES = 256

export class AdaptiveLimit {
  readonly min: number
  readonly max: number
  readonly initial: number
  private current: number
  private readonly clock: () => number
  private readonly startedAt: number
  private inFlight = 0
  // The window being measured.
  private windowStart: number
  private lastEvent: number
  private area = 0
  private done = 0
  /** The window straddles a move: it is measured but not judged. */
  private warmingUp = false
  // What the limit knows.
  private rMin = Number.POSITIVE_INFINITY
  /** Throughput at the current limit (smoothed over the windows held there). */
  private baseline = 0
  /** Mean relative drift of throughput between windows at one limit. */
  private noise = 0.05
  private trial: {from: number; throughput: number} | undefined = undefined
  private step = 1
  /** Slow start: until a move fails, a queue shows or overload comes, each try doubles the limit. */
  private growing = true
  /** Which way the next try goes when no queue says where to cut. */
  private probe: 1 | -1 = 1
  private cooldown = 0
  private fruitless = 0
  /** Windows in a row that showed a queue. */
  private queued = 0
  private ceiling = Number.POSITIVE_INFINITY
  private ceilingWindows = 0
  /** Where the last overload sent the limit, and how long the ceiling it set is held. */
  private sentTo = Number.POSITIVE_INFINITY
  private ceilingHeld = CEILING_WINDOWS
  /** Tasks that were in flight when the limit was halved: their overload errors are echoes of the same overload. */
  private echoes = 0
  private overloads = 0
  private readonly completionsAt = new Map<number, number>()
  private samples: LimitSample[] = []
  private sampleEvery = 1
  private changes = 0

  constructor(
    bounds: AutoWorkers,
    private readonly onChange: (limit: number) => void = () => {},
  ) {
    const {max, min} = bounds
    const initial = bounds.initial ?? min
    if (!Number.isInteger(min) || min < 1) throw new RangeError(`auto workers: min must be a whole number >= 1, got ${min}`)
    if (!Number.isInteger(max) || max < min) throw new RangeError(`auto workers: max must be a whole number >= min (${min}), got ${max}`)
    if (!Number.isInteger(initial) || initial < min || initial > max) {
      throw new RangeError(`auto workers: initial must be a whole number from ${min} to ${max}, got ${initial}`)
    }
    this.min = min
    this.max = max
    this.initial = initial
    this.current = initial
    this.clock = bounds.clock ?? (() => performance.now())
    this.startedAt = this.windowStart = this.lastEvent = this.clock()
    this.samples.push({atMs: 0, limit: initial})
  }

  /** Most tasks that may be in flight now. */
  get limit(): number {
    return this.current
  }

  /** A task started. */
  started(): void {
    this.advance(this.clock())
    this.inFlight++
  }

  /** A task settled (whatever its outcome). */
  finished(): void {
    const at = this.clock()
    this.advance(at)
    this.inFlight--
    this.done++
    if (this.echoes > 0) this.echoes--
    // Nor shorter than the least a task was seen to take: completions a stalled event loop delivers at once (the
    // process was busy, so they were seen late, in one burst) say nothing of the throughput or residence of a span
    // that short, and a residence taken from them would set rMin far below any task's real cost.
    // (rMin is unknown until the first window closes, which runs from the start and so holds at least a whole task.)
    if (at - this.windowStart < this.shortestWindow()) return
    if (this.done >= Math.max(MIN_WINDOW, WINDOW_TURNS * this.current) || this.provenEarly(at)) this.closeWindow(at)
  }

  /**
   * Whether a slow-start doubling has shown its gain after one turn of the pool already: a gain that large is no
   * noise, and the second turn would only confirm it (a run of 100 ms checks spent 200 ms on each doubling, 64 to
   * 1,024 in four). A smaller gain waits for the whole window.
   */
  private provenEarly(at: number): boolean {
    const {trial} = this
    if (!this.growing || !trial || this.current <= trial.from || this.done < Math.max(MIN_WINDOW, this.current)) return false
    return this.done / (at - this.windowStart) / trial.throughput - 1 > EARLY_GAIN
  }

  /** The domain reported overload (an error marked so, or a Retry-After): halve, once per overload. */
  overloaded(): void {
    if (this.echoes > 0) return
    this.overloads++
    // Above where the last overload sent the limit is the same door knocked on again; at or below it, news.
    this.ceilingHeld = this.current > this.sentTo ? Math.min(MAX_CEILING_WINDOWS, 2 * this.ceilingHeld) : CEILING_WINDOWS
    this.ceiling = this.current
    this.ceilingWindows = this.ceilingHeld
    const {trial} = this
    this.trial = undefined
    this.echoes = this.inFlight
    this.growing = false
    if (trial && this.current > trial.from) {
      // A try upwards met overload: the try failed, and the limit it started from had none in a whole window.
      this.fruitless++
      this.cooldown = Math.min(MAX_COOLDOWN, 2 ** this.fruitless)
      this.step = 1
      this.move(trial.from, this.clock())
      this.sentTo = this.current
      this.warmingUp = true
      return
    }
    this.step = 1
    this.cooldown = 0
    this.queued = 0
    this.move(Math.max(this.min, Math.floor(this.current / 2)), this.clock())
    this.sentTo = this.current
    // Throughput at the old limit says nothing of the new one; and the window that straddles the cut is not judged.
    this.baseline = 0
    this.warmingUp = true
  }

  report(): LimitReport {
    const completions = new Map(this.completionsAt)
    completions.set(this.current, (completions.get(this.current) ?? 0) + this.done)
    let settled = this.current
    let most = -1
    for (const [limit, count] of completions) {
      if (count > most) [settled, most] = [limit, count]
    }
    const samples = [...this.samples]
    const last = samples.at(-1)!
    if (last.limit !== this.current) samples.push({atMs: this.clock() - this.startedAt, limit: this.current})
    return {min: this.min, max: this.max, initial: this.initial, settled, final: this.current, overloads: this.overloads, samples}
  }

  private shortestWindow(): number {
    return Number.isFinite(this.rMin) ? this.rMin : 0
  }

  private advance(at: number): void {
    this.area += this.inFlight * (at - this.lastEvent)
    this.lastEvent = at
  }

  private closeWindow(at: number): void {
    const elapsed = at - this.windowStart
    const done = this.done
    const area = this.area
    this.completionsAt.set(this.current, (this.completionsAt.get(this.current) ?? 0) + done)
    this.windowStart = at
    this.area = 0
    this.done = 0
    if (this.ceilingWindows > 0 && --this.ceilingWindows === 0) this.ceiling = Number.POSITIVE_INFINITY
    // A window of no measurable time (a coarse clock, synchronous tasks) says nothing.
    if (elapsed <= 0 || area <= 0) return
    if (this.warmingUp) {
      this.warmingUp = false
      return
    }
    this.judge(done / elapsed, area / elapsed, area / done, at)
  }

  /** One window's verdict: `throughput` per ms, `busy` the mean number in flight, `residence` the mean time in flight (Little). */
  private judge(throughput: number, busy: number, residence: number, at: number): void {
    this.rMin = Math.min(this.rMin, residence)
    const threshold = Math.max(MIN_GAIN, 2 * this.noise)
    const {trial} = this
    if (trial) {
      this.trial = undefined
      const gain = throughput / trial.throughput - 1
      const up = this.current > trial.from
      // Up: kept when it paid more than the noise. Down: kept when throughput lost less than half of what it would
      // have had the removed slots been working (by Little, slots that only queued cost nothing).
      if (up ? gain > threshold : gain > (this.current / trial.from - 1) / 2) {
        this.baseline = throughput
        if (up) {
          this.step *= 2
          this.fruitless = 0
          // Slow start doubles again on the window that kept the last doubling, judged against it (both straddle a
          // doubling, so they compare like with like): a window spent only confirming the new limit made each
          // doubling cost two, and 5,000 checks of 100 ms climbed 64 to 1,024 in 2 s of a 2.2 s run.
          if (this.growing) this.up(2 * this.current, throughput, at)
        } else {
          // The next try goes back up: a cut kept on a noisy window is then undone by the throughput it cost.
          this.probe = 1
          this.step = 1
        }
        return
      }
      if (!up) this.rMin = residence // the cut was made on a stale rMin: the service's cost per task has grown
      // Try the other way next: a run that started above its best limit never saw the service unqueued, so only a
      // move down can show that fewer in flight do as much.
      this.probe = up ? -1 : 1
      this.step = 1
      this.growing = false
      this.fruitless++
      this.cooldown = Math.min(MAX_COOLDOWN, 2 ** this.fruitless)
      this.move(trial.from, at)
      this.warmingUp = true
      return
    }
    if (this.baseline > 0) this.noise = 0.8 * this.noise + 0.2 * Math.abs(throughput / this.baseline - 1)
    this.baseline = this.baseline > 0 ? 0.5 * (this.baseline + throughput) : throughput
    const waiting = 1 - this.rMin / residence
    // Two windows in a row: a queue seen in one window alone may be the service changing mid-window, and a cut
    // judged against such a window would be undone for a drop in throughput that was not its doing.
    this.queued = waiting > QUEUE_HIGH ? this.queued + 1 : 0
    if (this.queued > 0) {
      if (this.queued < 2 || this.current === this.min) return
      this.queued = 0
      this.growing = false
      const working = throughput * this.rMin
      const cut = Math.max(this.min, Math.min(this.current - 1, Math.ceil(working * (1 + CUT_MARGIN))))
      this.tryMove(cut, throughput, at)
      return
    }
    // The limit is not what holds the run back (the input is running dry, or the tasks arrive slower): no evidence.
    if (busy < 0.8 * this.current) return
    if (this.cooldown > 0) {
      this.cooldown--
      return
    }
    // A move must be large enough that the gain it should bring stands out of the noise.
    const least = Math.ceil(this.current * 2 * threshold)
    if (this.probe < 0 && this.current > this.min) {
      this.tryMove(Math.max(this.min, this.current - least), this.baseline, at)
      return
    }
    this.up(this.growing ? 2 * this.current : this.current + Math.max(this.step, least), this.baseline, at)
  }

  /** A try upwards to `to`, held under max and under the ceiling an overload left. */
  private up(to: number, throughput: number, at: number): void {
    const capped = Math.min(this.max, this.ceiling - 1, to)
    if (capped > this.current) this.tryMove(capped, throughput, at)
  }

  /** Moves the limit on trial, to be judged against `throughput` (a cut: the window that showed the queue, which may be news). */
  private tryMove(to: number, throughput: number, at: number): void {
    this.trial = {from: this.current, throughput}
    // In slow start the window straddling a doubling is judged at once: half of it at the new limit still shows
    // a real gain, and a run far below its best limit gets there in half the windows.
    this.warmingUp = !(this.growing && to > this.current)
    this.move(to, at)
  }

  private move(to: number, at: number): void {
    if (to === this.current) return
    this.completionsAt.set(this.current, (this.completionsAt.get(this.current) ?? 0) + this.done)
    this.current = to
    this.windowStart = at
    this.area = 0
    this.done = 0
    this.record(at)
    this.onChange(to)
  }

  /** Keeps every change while there are few; past MAX_SAMPLES, every other one is dropped and half as many kept. */
  private record(at: number): void {
    if (this.changes++ % this.sampleEvery !== 0) return
    this.samples.push({atMs: at - this.startedAt, limit: this.current})
    if (this.samples.length >= MAX_SAMPLES) {
      this.samples = this.samples.filter((_, i) => i % 2 === 0)
      this.sampleEvery *= 2
    }
  }
}
