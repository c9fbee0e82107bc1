import type {Ora} from 'ora'

import {formatDuration} from '../cli/values.js'
import {useColor} from './color.js'
import type {ResultStatus} from './envelope.js'

export type ProgressMode = 'tty' | 'plain' | 'off'

/**
 * A spinner on a terminal, a line every few seconds in CI and pipes, nothing with --quiet. Always on stderr.
 * A terminal that reports no width (some CI pseudo-terminals) gets plain lines: a spinner cannot redraw there.
 */
export function progressMode(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (quiet) return 'off'
  return stream.isTTY && stream.columns > 0 ? 'tty' : 'plain'
}

/** done/total, failed, rate and ETA while a run goes; counts what the engine settles. */
export class Progress {
  private done = 0
  private failed = 0
  private cancelled = 0
  private readonly started = performance.now()
  private spinner: Ora | undefined
  private stopped = false
  private readonly timer: NodeJS.Timeout | undefined
  /** More to say on the line, read at each redraw (e.g. migrations applied so far). */
  detail: (() => string) | undefined
  /** With --workers auto: the current limit, shown on the line. */
  workers: number | undefined

  constructor(
    protected readonly label: string,
    private readonly total: number | undefined,
    mode: ProgressMode,
    stream: NodeJS.WriteStream = process.stderr,
    plainEveryMs = 5000,
  ) {
    if (mode === 'tty') {
      // ora and its dozen modules load only for a terminal, a few milliseconds after the work has started.
      void import('ora').then(({default: ora}) => {
        if (!this.stopped) this.spinner = ora({text: this.line(), stream, discardStdin: false, color: useColor(stream) ? 'cyan' : false}).start()
      })
      this.timer = setInterval(() => {
        if (this.spinner) this.spinner.text = this.line()
      }, 100)
    } else if (mode === 'plain') {
      this.timer = setInterval(() => stream.write(`${this.line()}\n`), plainEveryMs)
    }
    this.timer?.unref()
  }

  settle(status: ResultStatus): void {
    this.done++
    if (status === 'failed') this.failed++
    else if (status === 'cancelled') this.cancelled++
  }

  /** Clears the spinner so the report prints on a clean line. */
  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.spinner?.stop()
  }

  line(): string {
    const elapsedMs = performance.now() - this.started
    const perSecond = elapsedMs > 0 ? (this.done * 1000) / elapsedMs : 0
    const parts = [`${this.label}: ${this.done}${this.total === undefined ? '' : `/${this.total}`} done`]
    if (this.failed) parts.push(`${this.failed} failed`)
    if (this.cancelled) parts.push(`${this.cancelled} cancelled`)
    if (this.workers !== undefined) parts.push(`workers ${this.workers}`)
    const detail = this.detail?.()
    if (detail) parts.push(detail)
    parts.push(`${perSecond.toFixed(perSecond < 10 ? 1 : 0)}/s`, formatDuration(elapsedMs))
    if (this.total !== undefined && perSecond > 0 && this.done < this.total) {
      parts.push(`ETA ${formatDuration(((this.total - this.done) / perSecond) * 1000)}`)
    }
    return parts.join(' · ')
  }
}
