import {setTimeout as sleep} from 'node:timers/promises'

import {describe, expect, it} from 'vitest'

import {AdaptiveLimit, forkJoin, markOverload} from '../../src/engine/index.js'
import type {AutoWorkers, LimitReport} from '../../src/engine/index.js'
import {SimulatedService} from './simulated-service.js'
import type {ServiceShape} from './simulated-service.js'

const items = (n: number) => Array.from({length: n}, (_, i) => i)

/** The limit is a whole number: K ± 25% rounded outwards. */
const near = (k: number) => [Math.floor(0.75 * k), Math.ceil(1.25 * k)] as const

/**
 * Runs `count` tasks on auto workers against a simulated service; records the limit at every completion and
 * counts starts that would have put more in flight than the limit.
 */
async function run(shape: ServiceShape, count: number, bounds: Omit<AutoWorkers, 'clock'>, onCompletion?: (done: number, service: SimulatedService) => void) {
  const service = new SimulatedService(shape)
  let limit = bounds.initial ?? bounds.min
  const limits: number[] = []
  let beyondLimit = 0
  let mostInFlight = 0
  const report = await service.drive(
    forkJoin(items(count), () => {
      if (service.inFlight + 1 > limit) beyondLimit++
      mostInFlight = Math.max(mostInFlight, service.inFlight + 1)
      return service.call()
    }, {workers: {auto: {...bounds, clock: service.clock}}, mode: 'settle', onLimit: (next) => (limit = next)}),
    () => {
      limits.push(limit)
      onCompletion?.(service.completions, service)
    },
  )
  return {report, limits, beyondLimit, mostInFlight, service, workers: report.workers as LimitReport}
}

/** The share of the completions from `from` to `to` that came while the limit was within [low, high]. */
function shareWithin(limits: number[], [low, high]: readonly [number, number], from: number, to = limits.length): number {
  const slice = limits.slice(from, to)
  return slice.filter((limit) => limit >= low && limit <= high).length / slice.length
}

describe('adaptive limit against a service whose latency grows beyond K in flight (time driven by the test)', () => {
  for (const k of [3, 12, 40]) {
    it(`K = ${k}: settles within K ± 25% within 1,500 completions, and stays there`, async () => {
      const {beyondLimit, limits, mostInFlight, report, workers} = await run({capacity: k}, 4000, {min: 1, max: 200})
      expect(report.fulfilled).toBe(4000)
      expect(beyondLimit).toBe(0)
      expect(mostInFlight).toBeLessThanOrEqual(Math.max(...limits))
      const [low, high] = near(k)
      expect(workers.settled).toBeGreaterThanOrEqual(low)
      expect(workers.settled).toBeLessThanOrEqual(high)
      // Trials above and below still happen (that is how a change of the service is found), but briefly.
      expect(shareWithin(limits, near(k), 1500)).toBeGreaterThanOrEqual(0.75)
      expect(workers.samples[0]).toEqual({atMs: 0, limit: 1})
      expect(workers).toMatchObject({min: 1, max: 200, initial: 1})
    })
  }

  it('slow start doubles once per window, and a doubling that plainly paid off after one turn of the pool at once: from 1 it reaches 32 under K = 200 within 60 completions', async () => {
    // Windows of 8 at 1, 2 and 4, then one turn at 8 (8) and at 16 (16): 48. Waiting for every window's second turn
    // took 73 here; a doubling that waited for a window of its own to confirm it before the next, 137.
    const {limits} = await run({capacity: 200}, 400, {min: 1, max: 200})
    const reached = limits.findIndex((limit) => limit >= 32) + 1
    expect(reached).toBeGreaterThan(0)
    expect(reached).toBeLessThanOrEqual(60)
  })

  it('follows a step change of K mid-run: 12, then 40, then 12 again', async () => {
    const {beyondLimit, limits} = await run({capacity: 12}, 9000, {min: 1, max: 200, initial: 4}, (done, service) => {
      if (done === 3000) service.shape.capacity = 40
      if (done === 6000) service.shape.capacity = 12
    })
    expect(beyondLimit).toBe(0)
    expect(shareWithin(limits, near(12), 1500, 3000)).toBeGreaterThanOrEqual(0.75)
    expect(shareWithin(limits, near(40), 4500, 6000)).toBeGreaterThanOrEqual(0.75)
    expect(shareWithin(limits, near(12), 7500, 9000)).toBeGreaterThanOrEqual(0.75)
  })

  it('bounds hold: never above max nor below min, whatever the service wants', async () => {
    const wide = await run({capacity: 40}, 1500, {min: 2, max: 8})
    expect(Math.max(...wide.limits)).toBe(8)
    expect(wide.mostInFlight).toBe(8)
    const narrow = await run({capacity: 3}, 1500, {min: 6, max: 50, initial: 20})
    expect(Math.min(...narrow.limits)).toBe(6)
    expect(narrow.workers.samples.every(({limit}) => limit >= 6 && limit <= 50)).toBe(true)
  })

  it('overload errors halve the limit, once per overload, and the limit stays below where it overloaded', async () => {
    const {beyondLimit, report, service, workers} = await run({capacity: 40, rejectBeyond: 10}, 3000, {min: 1, max: 200, initial: 16})
    expect(report.rejected).toBe(service.overloads)
    expect(beyondLimit).toBe(0)
    // The first start beyond 10 was refused: 16 halved to 8 at once, and the other refusals of that burst were echoes.
    expect(workers.samples[1]!.limit).toBe(8)
    expect(workers.settled).toBeGreaterThanOrEqual(7)
    expect(workers.settled).toBeLessThanOrEqual(10)
    // Probing knocks on the door again now and then (once the ceiling lapses), not on every window.
    expect(service.overloads).toBeLessThan(30)
  })

  it('knocks ever more rarely on a door that overloaded each time: the second half of a long run sees few overloads', async () => {
    let secondHalf = 0
    const {service, workers} = await run({capacity: 40, rejectBeyond: 10}, 12_000, {min: 1, max: 200, initial: 8}, (done, simulated) => {
      if (done === 6000) secondHalf = simulated.overloads
    })
    secondHalf = service.overloads - secondHalf
    expect(secondHalf, JSON.stringify(workers.samples.map(({limit}) => limit))).toBeLessThanOrEqual(2)
  })
})

describe('AdaptiveLimit on its own', () => {
  it('ctx.overloaded() from a task that does not fail halves the limit as an overload error does; a fixed pool takes no notice', async () => {
    const service = new SimulatedService({capacity: 100})
    let limit = 32
    const cuts: [number, number][] = []
    const report = await service.drive(
      forkJoin(items(400), (i, ctx) => {
        if (i === 100 || i === 101) {
          const before = limit
          ctx.overloaded()
          cuts.push([before, limit])
        }
        return service.call()
      }, {workers: {auto: {min: 1, max: 64, initial: 32, clock: service.clock}}, mode: 'settle', onLimit: (next) => (limit = next)}),
    )
    expect(report.fulfilled).toBe(400)
    // The second, from a task started while the first's were in flight, is an echo of the same overload.
    expect(cuts[0]![1]).toBe(Math.floor(cuts[0]![0] / 2))
    expect(cuts[1]![1]).toBe(cuts[0]![1])
    expect(report.workers!.overloads).toBe(1)
    const fixed = await forkJoin(items(20), (_item, ctx) => ctx.overloaded(), {workers: 4})
    expect(fixed.fulfilled).toBe(20)
    expect(fixed.workers).toBeUndefined()
  })

  it('halves on overload; echoes from tasks already in flight do not count again; a later overload does', () => {
    let now = 0
    const limit = new AdaptiveLimit({min: 3, max: 64, initial: 40, clock: () => now})
    for (let i = 0; i < 40; i++) limit.started()
    limit.overloaded()
    expect(limit.limit).toBe(20)
    limit.overloaded()
    expect(limit.limit).toBe(20)
    for (let i = 0; i < 40; i++) {
      now += 1
      limit.finished()
    }
    limit.started()
    limit.overloaded()
    expect(limit.limit).toBe(10)
    for (let i = 0; i < 3; i++) {
      limit.finished()
      limit.started()
      limit.overloaded()
    }
    expect(limit.limit).toBe(3) // 10 → 5 → 3 (min), not below
    expect(limit.report()).toMatchObject({min: 3, max: 64, initial: 40, final: 3})
  })

  it('refuses bounds that make no sense', () => {
    expect(() => new AdaptiveLimit({min: 0, max: 4})).toThrow(/min/)
    expect(() => new AdaptiveLimit({min: 5, max: 4})).toThrow(/max/)
    expect(() => new AdaptiveLimit({min: 1, max: 4, initial: 9})).toThrow(/initial/)
    expect(() => new AdaptiveLimit({min: 1.5, max: 4})).toThrow(/min/)
  })

  it('keeps a bounded path of the limit on a long run, first and latest changes included', () => {
    let now = 0
    const limit = new AdaptiveLimit({min: 1, max: 1000, initial: 500, clock: () => now})
    for (let round = 0; round < 5000; round++) {
      limit.started()
      limit.overloaded()
      now += 1
      limit.finished()
      if (limit.limit === 1) (limit as unknown as {current: number}).current = 500 // jump back up to churn the path
    }
    const {samples} = limit.report()
    expect(samples.length).toBeLessThanOrEqual(256)
    expect(samples.length).toBeGreaterThan(64)
    expect(samples[0]).toEqual({atMs: 0, limit: 500})
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.atMs).toBeGreaterThanOrEqual(samples[i - 1]!.atMs)
  })
})

describe('auto workers in the engine, in real time', () => {
  it('fail-fast with a moving limit: after the first rejection nothing starts, the rest is cancelled', async () => {
    const service = new SimulatedService({capacity: 12})
    let failedAt = -1
    const startsAfterFailure: number[] = []
    const report = await service.drive(
      forkJoin(items(2000), async (i) => {
        if (failedAt >= 0) startsAfterFailure.push(i)
        await service.call()
        if (i === 700) {
          failedAt = service.completions
          throw new Error('boom at 700')
        }
      }, {workers: {auto: {min: 1, max: 100, clock: service.clock}}, mode: 'fail-fast'}),
    )
    expect(report.rejected).toBe(1)
    expect(startsAfterFailure).toEqual([])
    expect(report.cancelled).toBeGreaterThan(1000)
    expect(report.fulfilled + report.rejected + report.cancelled).toBe(2000)
  })

  it('a retryAfterMs on an error pauses every start for that long, with a fixed pool and with auto workers', async () => {
    for (const workers of [4, {auto: {min: 1, max: 8, initial: 4}}] as const) {
      const starts: number[] = []
      const t0 = performance.now()
      let refused = false
      const report = await forkJoin(items(12), async (i) => {
        starts.push(performance.now() - t0)
        await sleep(5)
        if (i === 0 && !refused) {
          refused = true
          throw markOverload(new Error('429 slow down'), 150)
        }
      }, {workers, retries: 1, backoff: {initialMs: 1, jitter: 0}, mode: 'settle'})
      expect(report.fulfilled).toBe(12)
      expect(report.outcomes[0]!.attempts).toBe(2)
      // 4 started at once; the refusal came at ~5 ms: every later start, the retry included, waited for ~155 ms.
      expect(starts.slice(0, 4).every((t) => t < 100)).toBe(true)
      expect(starts.slice(4).every((t) => t >= 150)).toBe(true)
    }
  })

  it('times out and retries on auto workers as on a fixed pool', async () => {
    let tries = 0
    const report = await forkJoin(items(6), async (i, ctx) => {
      if (i === 3 && tries++ < 1) await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
      return i
    }, {workers: {auto: {min: 1, max: 4, initial: 2}}, timeoutMs: 40, retries: 2, backoff: {initialMs: 1}, mode: 'settle'})
    expect(report.fulfilled).toBe(6)
    expect(report.outcomes[3]).toMatchObject({status: 'fulfilled', value: 3, attempts: 2})
    expect(report.workers).toMatchObject({min: 1, max: 4, initial: 2})
  })
})
