import {formatDuration} from '../cli/values.js'
import {Progress} from '../report/progress.js'
import {formatLatency} from './figures.js'
import type {Snapshot} from './tally.js'

/** The progress line of a load test: elapsed/total, current req/s, p99 so far, errors. */
export class LoadProgress extends Progress {
  private snapshot: Snapshot | undefined
  private previous: Snapshot | undefined
  totalMs: number | undefined

  update(snapshot: Snapshot): void {
    this.previous = this.snapshot
    this.snapshot = snapshot
  }

  override line(): string {
    const now = this.snapshot
    if (!now) return `${this.label}: starting`
    const before = this.previous
    const span = before ? now.elapsedMs - before.elapsedMs : now.elapsedMs
    const current = span > 0 ? ((now.completed - (before?.completed ?? 0)) * 1000) / span : 0
    const elapsed = `${formatDuration(now.elapsedMs)}${this.totalMs ? `/${formatDuration(this.totalMs)}` : ''}`
    return `${this.label}: ${elapsed} · ${Math.round(current)} req/s · p99 ${formatLatency(now.p99Us / 1000)} · ${now.completed} done · ${now.errors} errors`
  }
}
