import {Flags} from '@oclif/core'

import {UsageError} from './errors.js'
import type {Workers} from '../engine/index.js'
import type {EngineMetrics} from '../metrics/engine-metrics.js'
import type {Progress} from '../report/progress.js'
import {accepts, parseCount, parseDuration, parseRate, parseSize, parseWorkers} from './values.js'
import type {Rate} from './values.js'

/** A flag parser that turns a bad value into one line naming the flag, what it accepts and what was given. */
function checked<T>(parse: (input: string) => T) {
  return async (input: string, _context: unknown, options: {name: string}): Promise<T> => {
    try {
      return parse(input)
    } catch (error) {
      const expected = error instanceof UsageError ? error.line : String(error)
      throw new UsageError(`--${options.name} expects ${expected}; got "${input}"`)
    }
  }
}

const atLeast = (min: number) => (input: string) => {
  const value = parseCount(input)
  if (value < min) throw new UsageError(`${accepts.count}, at least ${min}`)
  return value
}

export const duration = Flags.custom<number>({helpValue: '<duration>', parse: checked(parseDuration)})
export const count = Flags.custom<number>({helpValue: '<count>', parse: checked(atLeast(0))})
/** A count of at least 1 (`8`, `10k`): workers, threads, connections. */
export const positiveCount = Flags.custom<number>({helpValue: '<count>', parse: checked(atLeast(1))})
export const rate = Flags.custom<Rate>({helpValue: '<rate>', parse: checked(parseRate)})
export const size = Flags.custom<number>({helpValue: '<size>', parse: checked(parseSize)})

/** How far above a command's default pool size `--workers auto` may go when no MAX is given. */
const AUTO_HEADROOM = 16

/**
 * `--workers N | auto | auto:MAX | auto:MIN-MAX`. An adaptive limit starts at the command's default (within its
 * bounds), so that `auto` begins where a fixed run would and moves from there; `auto` alone spans 1 to 16 times
 * the default.
 */
export function workersFlag(defaultWorkers: number, summary: string) {
  const parse = (input: string): Workers => {
    const parsed = parseWorkers(input)
    if (typeof parsed === 'number') return parsed
    const {min = 1, max = Math.max(min, defaultWorkers * AUTO_HEADROOM)} = parsed.auto
    return {auto: {min, max, initial: Math.min(max, Math.max(min, defaultWorkers))}}
  }
  return Flags.custom<Workers>({
    char: 'w',
    helpValue: '<count|auto[:MIN-MAX]>',
    summary: `${summary} auto, auto:MAX or auto:MIN-MAX: a limit that adapts while the run goes (auto: 1 to ${AUTO_HEADROOM}x the default).`,
    default: defaultWorkers,
    parse: checked(parse),
  })()
}

/** A pool size for commands where the workers are the load itself (loadtest): `auto` is refused, saying why. */
export const fixedWorkers = Flags.custom<number>({
  helpValue: '<count>',
  parse: checked((input) => {
    if (/^auto\b/.test(input.trim())) throw new UsageError(`${accepts.count} (not auto: here the workers are the load, not a capacity to find)`)
    return atLeast(1)(input)
  }),
})

/**
 * Shows the limit on targets in flight where the user looks: the metrics gauge (a fixed pool's size too) and, with
 * auto workers, the progress line. Returns the engine's onLimit hook for auto workers, else undefined.
 */
export function followLimit(workers: Workers, progress: Progress | undefined, metrics: EngineMetrics | undefined): ((limit: number) => void) | undefined {
  if (typeof workers === 'number') {
    metrics?.limit(workers)
    return undefined
  }
  const show = (limit: number) => {
    if (progress) progress.workers = limit
    metrics?.limit(limit)
  }
  show(workers.auto.initial ?? workers.auto.min)
  return show
}

/** The most tasks a `--workers` value may have in flight: the pool size, or an adaptive limit's MAX. */
export function mostWorkers(workers: Workers): number {
  return typeof workers === 'number' ? workers : workers.auto.max
}

/** The flags that steer the engine, the same in every command; each command picks its defaults. */
export function engineFlags(defaults: {workers: number; mode: 'fail-fast' | 'settle'; timeout?: string}) {
  const keepGoingIsDefault = defaults.mode === 'settle'
  return {
    workers: workersFlag(defaults.workers, 'Most targets worked on at once (a bounded pool).'),
    timeout: duration({
      summary: `Time limit for each attempt on a target (${accepts.duration}; 0 for none).`,
      default: defaults.timeout === undefined ? 0 : parseDuration(defaults.timeout),
      defaultHelp: async () => defaults.timeout ?? '0 (none)',
    }),
    retries: count({
      summary: 'Extra attempts for a failed target, with exponential backoff and jitter.',
      default: 0,
    }),
    'fail-fast': Flags.boolean({
      summary: `Stop at the first failure: targets not started are cancelled, running ones are stopped.${
        keepGoingIsDefault ? '' : ' (default)'
      }`,
      exclusive: ['keep-going'],
    }),
    'keep-going': Flags.boolean({
      summary: `Run every target whatever fails, and report every failure.${keepGoingIsDefault ? ' (default)' : ''}`,
      exclusive: ['fail-fast'],
    }),
    rate: rate({
      summary: `Cap on target starts (${accepts.rate}).`,
    }),
  }
}

export const outputFlags = {
  json: Flags.boolean({
    summary: 'Print one JSON document on stdout and nothing else there; progress goes to stderr.',
  }),
  quiet: Flags.boolean({
    char: 'q',
    summary: 'No progress; only the final report.',
  }),
}

export function modeOf(flags: {'fail-fast': boolean; 'keep-going': boolean}, fallback: 'fail-fast' | 'settle') {
  if (flags['fail-fast']) return 'fail-fast'
  if (flags['keep-going']) return 'settle'
  return fallback
}

/** Prometheus for every command: scrape while it runs, or push the final figures (batch jobs). Off by default. */
export const metricsFlags = {
  'metrics-addr': Flags.string({helpValue: '<host:port>', summary: 'Serve Prometheus /metrics here while the command runs, e.g. 127.0.0.1:9464.'}),
  'metrics-linger': duration({summary: 'Keep /metrics up this long after the run, for a last scrape.', default: 0, defaultHelp: async () => '0'}),
  pushgateway: Flags.string({helpValue: '<url>', summary: 'Push the final figures to this Prometheus Pushgateway, at the end and on Ctrl-C.'}),
  'push-job': Flags.string({helpValue: '<name>', summary: 'Job name to push under (default: fanout_<command>).'}),
  'push-required': Flags.boolean({summary: 'Exit 1 when the push fails; by default a failed push is only reported on stderr.'}),
  'metrics-file': Flags.string({helpValue: '<file>', summary: 'Write the final figures to this file (atomically), for node_exporter\'s textfile collector.'}),
}
