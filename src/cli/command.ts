import {once} from 'node:events'

import {Command, Errors, Flags} from '@oclif/core'

import {DeliveryFailed, metricsOptions, wantsMetrics} from '../metrics/options.js'
import type {MetricsSession} from '../metrics/session.js'
import {ExitCode} from '../report/exit-codes.js'
import {chunked, terminated} from '../report/pieces.js'
import {maskCredentials} from '../report/mask.js'
import {WriteFailed, writeAtomically} from '../report/write-file.js'
import {InterruptedError, UsageError} from './errors.js'

/**
 * What every fanout command shares: Ctrl-C turned into a signal for the engine (a second Ctrl-C forces the exit),
 * and every error turned into one line on stderr and the documented exit code.
 */
export abstract class FanoutCommand extends Command {
  /** `-h` as well as `--help`, on every command (oclif's help plugin draws it). */
  static override baseFlags = {help: Flags.help({char: 'h', description: 'Show this help.'})}

  /** Aborted on the first SIGINT or SIGTERM, with an InterruptedError. */
  protected readonly interruption = new AbortController()
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.interruption.signal.aborted) {
      process.stderr.write(`\nfanout ${this.commandName}: ${signal} again, exiting now\n`)
      process.exit(ExitCode.interrupted)
    }
    process.stderr.write(`\nfanout ${this.commandName}: ${signal}: stopping; the partial report follows (${signal} again to exit at once)\n`)
    this.interruption.abort(new InterruptedError(signal))
  }

  override async init(): Promise<void> {
    await super.init()
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  override async finally(error: Error | undefined): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    return super.finally(error)
  }

  /** The command as typed: `migrate status`, not oclif's `migrate:status`. */
  protected get commandName(): string {
    return (this.id ?? '').replaceAll(':', ' ')
  }

  /** Whether the user interrupted the run: the command then exits 130 after its report. */
  protected get interrupted(): boolean {
    return this.interruption.signal.aborted
  }

  override async catch(error: Error & {oclif?: {exit?: number}}): Promise<unknown> {
    if (error instanceof Errors.ExitError) throw error
    if (error instanceof UsageError) return this.fail(ExitCode.usage, error.line)
    if (error instanceof Errors.CLIError && error.oclif?.exit === 2) {
      // oclif's own parse errors (unknown flag, exclusive flags…) span lines under headers: keep what they say.
      const said = error.message
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !/^(The following errors? occurred:|See more help with --help)$/.test(line))
      return this.fail(ExitCode.usage, `${said.join('; ')} (see: fanout ${this.commandName} --help)`)
    }
    if (process.env.DEBUG) process.stderr.write(`${error.stack}\n`)
    return this.fail(ExitCode.internal, `internal error: ${error.message} (this is a bug in fanout; DEBUG=1 shows the stack)`)
  }

  /** Prints the report on stdout (with a final newline). */
  protected report(text: string): void {
    if (text !== '') process.stdout.write(`${text}\n`)
  }

  /** Prints a large report given in pieces (pieces.ts) on stdout, with a final newline, waiting while the pipe is full. */
  protected async reportPieces(pieces: Iterable<string>): Promise<void> {
    for (const chunk of chunked(terminated(pieces))) if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
  }

  /**
   * Ends the command with `code` by setting it rather than exiting: Node then exits once stdout is flushed, where a
   * process.exit() right after a large write to a pipe would cut the report short.
   */
  protected finish(code: ExitCode): void {
    // A file or a push that failed turns success into 1; a failure or an interruption says more and stands.
    process.exitCode = code === ExitCode.ok && this.undelivered ? ExitCode.failed : code
  }

  private undelivered = false

  /** Something the user asked to be written or pushed at the end did not get there: exit 1 unless worse. */
  private markUndelivered(line: string): void {
    this.say(line)
    this.undelivered = true
    if (!process.exitCode) process.exitCode = ExitCode.failed
  }

  /**
   * Metrics when the user asked for them (--metrics-addr, --pushgateway), or undefined: then nothing runs. A shard
   * pushes under its own grouping key (`shard`), beside the other shards of its Job.
   */
  protected async openMetrics(flags: Parameters<typeof metricsOptions>[0], shard?: {index: number; count: number}): Promise<MetricsSession | undefined> {
    const groupings = shard && shard.count > 1 ? {shard: String(shard.index)} : undefined
    const options = {...metricsOptions(flags), groupings}
    if (!wantsMetrics(options)) return undefined
    const {MetricsSession} = await import('../metrics/session.js')
    const metrics = await MetricsSession.open(this.commandName, options)
    if (metrics?.address) process.stderr.write(`fanout ${this.commandName}: serving http://${metrics.address}/metrics\n`)
    return metrics
  }

  /**
   * After the report: pushes the final figures and lets /metrics linger (Ctrl-C cuts the linger short). A failed
   * push changes the exit code only with --push-required.
   */
  protected async closeMetrics(metrics: MetricsSession | undefined): Promise<void> {
    try {
      await metrics?.close(this.interruption.signal)
    } catch (error) {
      if (!(error instanceof DeliveryFailed)) throw error
      this.markUndelivered(error.message)
    }
  }

  /**
   * Writes a file the user asked for (--output) at the end of a run, after the report is printed: a write that fails
   * is one line on stderr and exit 1, and the report is not lost. Returns whether it was written.
   * `text` may come in pieces (pieces.ts).
   */
  protected async writeOutput(flag: string, path: string, text: string | Iterable<string>): Promise<boolean> {
    try {
      await writeAtomically(path, text)
      return true
    } catch (error) {
      if (!(error instanceof WriteFailed)) throw error
      this.markUndelivered(`${flag}: ${error.message}; the report is on stdout; exiting 1`)
      return false
    }
  }

  /** One line on stderr, credentials masked. */
  protected say(line: string): void {
    process.stderr.write(`fanout ${this.commandName}: ${maskCredentials(line)}\n`)
  }

  protected fail(code: ExitCode, line: string): never {
    this.say(line)
    this.exit(code)
  }
}
