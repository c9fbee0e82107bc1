import {UsageError} from './errors.js'

/** What each value kind accepts, as the error and `--help` say it. */
export const accepts = {
  duration: 'a duration like 500ms, 5s, 2m or 1m30s',
  count: 'a whole number like 8, 500 or 10k',
  rate: 'a rate like 50/s, 100/m or 10/500ms',
  size: 'a size like 512KiB, 16MiB, 1GB or 1000 (bytes)',
  workers: 'auto, auto:MAX, auto:MIN-MAX (a limit that adapts while the run goes) or a whole number like 8',
} as const

const DURATION_UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * The longest delay Node's timers take (2^31 - 1 ms, 24.8 days): a longer one fires at once, with a warning. Every
 * duration is a timer somewhere (timeouts, kill delays, rate intervals, run lengths), so all are held to it here.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1

const TOO_LONG = 'at most 596h (24.8 days: the longest timer Node can set)'

/** `500ms`, `5s`, `2m`, `1h`, `1m30s`, `1.5s`, or `0`, in milliseconds; at most MAX_DURATION_MS. */
export function parseDuration(input: string): number {
  const ms = parseTimeSpan(input)
  if (ms > MAX_DURATION_MS) throw new UsageError(`${accepts.duration}, ${TOO_LONG}`)
  return ms
}

/** A duration that is never a timer (a certificate's time left, `> 720h`): parseDuration's syntax, no upper bound. */
export function parseTimeSpan(input: string): number {
  const text = input.trim()
  if (text === '0') return 0
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new UsageError(accepts.duration)
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * DURATION_UNITS[unit!]!, 0)
}

const COUNT_SUFFIXES: Record<string, number> = {'': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6}

/** `8`, `10k`, `1.5k`, `2M` (also `10_000`), as a whole number. */
export function parseCount(input: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(input.trim().replaceAll('_', ''))
  const value = match ? Number(match[1]) * COUNT_SUFFIXES[match[2]!]! : Number.NaN
  if (!Number.isSafeInteger(value)) throw new UsageError(accepts.count)
  return value
}

const SIZE_UNITS: Record<string, number> = {'': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3}

/** `16MiB`, `512KiB`, `1MB`, `1000`, in bytes: decimal units are powers of 1000, binary ones of 1024 (IEC). */
export function parseSize(input: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim())
  const unit = SIZE_UNITS[match?.[2]?.toLowerCase() ?? 'none']
  const value = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN
  if (!Number.isSafeInteger(value)) throw new UsageError(accepts.size)
  return value
}

/** Bytes as the largest binary unit that keeps a whole number: 16MiB, 1500B. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`
  }
  return `${bytes}B`
}

export interface Rate {
  limit: number
  intervalMs: number
}

/** `50/s`, `100/m`, `10/500ms`, `5/2s`; a bare `50` means per second. */
export function parseRate(input: string): Rate {
  const [amount = '', per = 's'] = input.trim().split('/')
  let rate: Rate | undefined
  try {
    const limit = parseCount(amount)
    const intervalMs = parseTimeSpan(/^\d/.test(per) ? per : `1${per}`)
    if (limit >= 1 && intervalMs > 0) rate = {limit, intervalMs}
  } catch {
    // Reported below with the whole input in view.
  }
  if (rate === undefined) throw new UsageError(accepts.rate)
  if (rate.intervalMs > MAX_DURATION_MS) throw new UsageError(`${accepts.rate}, per ${TOO_LONG}`)
  return rate
}

/** `1m30s` style, for help texts and reports. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return minutes < 60 ? `${minutes}m${seconds ? `${seconds}s` : ''}` : `${Math.floor(minutes / 60)}h${minutes % 60}m`
}

/** `8` (or `1k`), or `auto`, `auto:32`, `auto:4-32`: a fixed pool size, or the bounds given for an adaptive limit. */
export function parseWorkers(input: string): number | {auto: {min?: number; max?: number}} {
  const text = input.trim()
  const auto = /^auto(?::(?:(\d+)-)?(\d+))?$/.exec(text)
  if (!auto) {
    let fixed: number
    try {
      fixed = parseCount(text)
    } catch {
      throw new UsageError(accepts.workers)
    }
    if (fixed >= 1) return fixed
    throw new UsageError(`${accepts.workers}, at least 1`)
  }
  const [, min, max] = auto
  if (max === undefined) return {auto: {}}
  const bounds = {min: min === undefined ? undefined : Number(min), max: Number(max)}
  if ((bounds.min ?? 1) < 1 || bounds.max < (bounds.min ?? 1)) throw new UsageError(`${accepts.workers}, with 1 <= MIN <= MAX`)
  return {auto: bounds.min === undefined ? {max: bounds.max} : {min: bounds.min, max: bounds.max}}
}
