import {Counter, Gauge, Histogram} from 'prom-client'
import type {Registry} from 'prom-client'

import type {Outcome} from '../engine/index.js'

const OUTCOME = {fulfilled: 'succeeded', rejected: 'failed', cancelled: 'cancelled'} as const

/**
 * The engine's figures for one command, fed by forkJoin's onStart/onSettle hooks. Only made when metrics are
 * asked for: without them the engine runs with no hooks at all.
 */
export class EngineMetrics {
  private readonly tasks: Counter<'command' | 'outcome'>
  private readonly retries: Counter<'command'>
  private readonly duration: Histogram<'command'>
  private readonly inFlight: Gauge<'command'>
  private readonly queued: Gauge<'command'>
  private readonly workersLimit: Gauge<'command'>
  private readonly runDuration: Gauge<'command'>
  private readonly runSuccess: Gauge<'command'>

  constructor(
    registry: Registry,
    private readonly command: string,
  ) {
    const registers = [registry]
    this.tasks = new Counter({name: 'fanout_tasks_total', help: 'Targets settled, by outcome.', labelNames: ['command', 'outcome'], registers})
    this.retries = new Counter({name: 'fanout_task_retries_total', help: 'Extra attempts made after failed ones.', labelNames: ['command'], registers})
    this.duration = new Histogram({
      name: 'fanout_task_duration_seconds',
      help: 'Time from a target\'s first attempt to its outcome, retries included.',
      labelNames: ['command'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    })
    this.inFlight = new Gauge({name: 'fanout_tasks_in_flight', help: 'Targets being worked on now.', labelNames: ['command'], registers})
    this.queued = new Gauge({name: 'fanout_tasks_queued', help: 'Targets not started yet.', labelNames: ['command'], registers})
    this.workersLimit = new Gauge({
      name: 'fanout_workers_limit',
      help: 'Most targets allowed in flight now: the pool size, or with --workers auto the adaptive limit.',
      labelNames: ['command'],
      registers,
    })
    this.runDuration = new Gauge({name: 'fanout_run_duration_seconds', help: 'Wall time of the last run.', labelNames: ['command'], registers})
    this.runSuccess = new Gauge({name: 'fanout_run_success', help: 'Whether the last run succeeded (1) or not (0).', labelNames: ['command'], registers})
    for (const outcome of Object.values(OUTCOME)) this.tasks.inc({command, outcome}, 0)
    this.retries.inc({command}, 0)
  }

  /** A run of `total` targets is about to start (a stream of unknown length: leave it out). */
  begin(total?: number): void {
    this.inFlight.set({command: this.command}, 0)
    if (total !== undefined) this.queued.set({command: this.command}, total)
  }

  /** The limit on targets in flight: the pool size, or each new value of an adaptive limit. */
  limit(limit: number): void {
    this.workersLimit.set({command: this.command}, limit)
  }

  readonly onStart = (): void => {
    this.inFlight.inc({command: this.command})
    this.queued.dec({command: this.command})
  }

  readonly onSettle = (_index: number, outcome: Outcome<unknown>): void => {
    const {command} = this
    if (outcome.attempts === 0) this.queued.dec({command}) // cancelled before it started
    else {
      this.inFlight.dec({command})
      this.duration.observe({command}, outcome.durationMs / 1000)
      if (outcome.attempts > 1) this.retries.inc({command}, outcome.attempts - 1)
    }
    this.tasks.inc({command, outcome: OUTCOME[outcome.status]})
  }

  private synced = {succeeded: 0, failed: 0}

  /**
   * For a run whose tasks are not the engine's to count (loadtest: each request is one): the figures so far, counters
   * brought up to them by differences, gauges set.
   */
  sync(now: {succeeded: number; failed: number; inFlight: number; queued: number}): void {
    const {command} = this
    for (const outcome of ['succeeded', 'failed'] as const) {
      const delta = now[outcome] - this.synced[outcome]
      if (delta > 0) this.tasks.inc({command, outcome}, delta)
      this.synced[outcome] = Math.max(this.synced[outcome], now[outcome])
    }
    this.inFlight.set({command}, now.inFlight)
    this.queued.set({command}, now.queued)
  }

  end(durationMs: number, success: boolean): void {
    this.runDuration.set({command: this.command}, durationMs / 1000)
    this.runSuccess.set({command: this.command}, success ? 1 : 0)
  }
}
