import {Flags} from '@oclif/core'

import {UsageError} from './errors.js'
import {accepts, parseCount, parseDuration, parseRate, parseSize} from './values.js'
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

/** The flags that steer the engine, the same in every command; each command picks its defaults. */
export function engineFlags(defaults: {workers: number; mode: 'fail-fast' | 'settle'; timeout?: string}) {
  const keepGoingIsDefault = defaults.mode === 'settle'
  return {
    workers: positiveCount({
      char: 'w',
      summary: 'Most targets worked on at once (a bounded pool).',
      default: defaults.workers,
    }),
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
