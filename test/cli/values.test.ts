import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/cli/errors.js'
import {MAX_DURATION_MS, formatDuration, parseCount, parseDuration, parseRate} from '../../src/cli/values.js'

describe('durations, counts and rates', () => {
  it('reads durations in ms, s, m, h and compounds', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('5s')).toBe(5000)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration('0')).toBe(0)
  })

  it('refuses what is not a duration, bare numbers included', () => {
    for (const bad of ['', '5', '5x', 's', '-1s', '5 s', '1m30', 'ms5']) {
      expect(() => parseDuration(bad), bad).toThrow(UsageError)
    }
  })

  it('holds every duration and rate interval to Node\'s longest timer (2^31 - 1 ms, 24.8 days)', () => {
    expect(parseDuration('596h')).toBe(596 * 3_600_000)
    expect(MAX_DURATION_MS).toBe(2_147_483_647)
    for (const long of ['597h', '1000h', '596h40m']) expect(() => parseDuration(long), long).toThrow(/at most 596h/)
    expect(parseRate('1/596h')).toEqual({limit: 1, intervalMs: 596 * 3_600_000})
    expect(() => parseRate('1/1000h')).toThrow(/per at most 596h/)
  })

  it('reads counts with k and M suffixes', () => {
    expect(parseCount('8')).toBe(8)
    expect(parseCount('10k')).toBe(10_000)
    expect(parseCount('1.5k')).toBe(1500)
    expect(parseCount('2M')).toBe(2_000_000)
    expect(parseCount('10_000')).toBe(10_000)
    for (const bad of ['', 'abc', '-1', '1.5', '0.0001k', '1e3']) expect(() => parseCount(bad), bad).toThrow(UsageError)
  })

  it('reads rates per unit or per interval', () => {
    expect(parseRate('50/s')).toEqual({limit: 50, intervalMs: 1000})
    expect(parseRate('100/m')).toEqual({limit: 100, intervalMs: 60_000})
    expect(parseRate('10/500ms')).toEqual({limit: 10, intervalMs: 500})
    expect(parseRate('5/2s')).toEqual({limit: 5, intervalMs: 2000})
    expect(parseRate('50')).toEqual({limit: 50, intervalMs: 1000})
    for (const bad of ['0/s', '/s', '5/x', 'fast', '5/0s']) expect(() => parseRate(bad), bad).toThrow(UsageError)
  })

  it('formats durations for people', () => {
    expect(formatDuration(0.25)).toBe('0.25ms')
    expect(formatDuration(12.4)).toBe('12ms')
    expect(formatDuration(1234)).toBe('1.23s')
    expect(formatDuration(95_000)).toBe('1m35s')
    expect(formatDuration(3_900_000)).toBe('1h5m')
  })
})
