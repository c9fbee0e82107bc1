import {setTimeout as sleep} from 'node:timers/promises'

import {describe, expect, it} from 'vitest'

import {MOST_SHARED, now} from '../../src/engine/clock.js'

function busyWait(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

/** Calls the clock in a tight loop, which is what makes it share readings. */
function tightLoop(calls: number): number[] {
  return Array.from({length: calls}, now)
}

describe('engine clock', () => {
  it('shares readings between calls microseconds apart, and never goes back', () => {
    const readings = tightLoop(2000)
    expect(new Set(readings).size).toBeLessThan(1000)
    for (let i = 1; i < readings.length; i++) expect(readings[i]).toBeGreaterThanOrEqual(readings[i - 1]!)
  })

  it('reads afresh after a timer: a task that waits is timed exactly', async () => {
    const before = tightLoop(100).at(-1)!
    await sleep(15)
    expect(now() - before).toBeGreaterThanOrEqual(14)
  })

  it('a long synchronous stretch turns sharing off after at most MOST_SHARED calls', () => {
    tightLoop(100)
    const readings: number[] = [now()]
    for (let i = 0; i < MOST_SHARED + 10; i++) {
      busyWait(0.2)
      readings.push(now())
    }
    const gaps = readings.slice(1).map((reading, i) => reading - readings[i]!)
    expect(gaps.filter((gap) => gap < 0.2).length).toBeLessThanOrEqual(MOST_SHARED)
    for (const gap of gaps.slice(MOST_SHARED)) expect(gap).toBeGreaterThanOrEqual(0.2)
  })
})
