import {setTimeout as sleep} from 'node:timers/promises'

import {describe, expect, it} from 'vitest'

import {forkJoin, forkLoops, TimeoutError, WaveHaltedError} from '../../src/engine/index.js'
import type {Outcome, Workers} from '../../src/engine/index.js'

const range = (n: number) => Array.from({length: n}, (_, i) => i)

/** Counts tasks in flight and remembers the most seen at once. */
function inFlightMeter() {
  let now = 0
  const meter = {
    max: 0,
    async around<R>(work: () => Promise<R>): Promise<R> {
      now++
      meter.max = Math.max(meter.max, now)
      try {
        return await work()
      } finally {
        now--
      }
    },
  }
  return meter
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), {once: true})
  })
}

/**
 * Every behaviour of the pool twice: with a fixed size, and with auto workers held at that size (min = max), which
 * runs the same items through the adaptive path (admission before each take, lanes retired and launched).
 */
const pools: [string, (n: number) => Workers][] = [
  ['fixed workers', (n) => n],
  ['auto workers held at n', (n) => ({auto: {min: n, max: n}})],
]

for (const [pool, w] of pools) describe(pool, () => {
  describe('forkJoin: order and bounds', () => {
    it('keeps outcomes in input order whatever the completion order, and never exceeds workers', async () => {
      const meter = inFlightMeter()
      const delays = range(60).map((i) => (i * 7919) % 23) // a scrambled order of completion
      const completion: number[] = []
      const report = await forkJoin(
        delays,
        (delay, ctx) =>
          meter.around(async () => {
            await sleep(delay)
            completion.push(ctx.index)
            return delay * 10
          }),
        {workers: w(5)},
      )
      expect(completion).not.toEqual(range(60))
      expect(report.outcomes).toHaveLength(60)
      expect(report.outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined))).toEqual(delays.map((d) => d * 10))
      expect(meter.max).toBe(5)
      expect(report).toMatchObject({total: 60, fulfilled: 60, rejected: 0, cancelled: 0, stopped: false})
      for (const outcome of report.outcomes) {
        expect(outcome.attempts).toBe(1)
        expect(outcome.durationMs).toBeGreaterThanOrEqual(0)
      }
    })

    it('works when workers exceed the input, and returns at once for empty input', async () => {
      const meter = inFlightMeter()
      const report = await forkJoin(range(3), (i) => meter.around(async () => i), {workers: w(100)})
      expect(report.fulfilled).toBe(3)
      expect(meter.max).toBe(3)
      const started = performance.now()
      const empty = await forkJoin([], async () => 1, {workers: w(4)})
      expect(empty).toMatchObject({total: 0, fulfilled: 0, outcomes: []})
      expect(performance.now() - started).toBeLessThan(50)
    })

    it('times each task start to settle: waits among thousands of no-op tasks, and synchronous work', async () => {
      const slow = new Set([7, 2500, 9990])
      const mixed = await forkJoin(range(10_000), async (i) => {
        if (slow.has(i)) await sleep(20)
      }, {workers: w(64)})
      mixed.outcomes.forEach((outcome, i) => {
        if (slow.has(i)) expect(outcome.durationMs).toBeGreaterThanOrEqual(19)
        else expect(outcome.durationMs).toBeLessThan(19)
      })
      const busy = await forkJoin(range(12), () => {
        const until = performance.now() + 2
        while (performance.now() < until);
      }, {workers: w(3)})
      for (const outcome of busy.outcomes) expect(outcome.durationMs).toBeGreaterThanOrEqual(2)
    })

    it('rejects nonsense options with a RangeError', async () => {
      await expect(forkJoin([1], async () => 1, {workers: w(0)})).rejects.toThrow(RangeError)
      await expect(forkJoin([1], async () => 1, {workers: w(2), retries: -1})).rejects.toThrow(/retries/)
      await expect(forkJoin([1], async () => 1, {workers: w(2), waves: [0]})).rejects.toThrow(/wave/)
    })
  })

  describe('forkJoin: fail-fast and settle', () => {
    it('fail-fast: after the first rejection nothing new starts, queued items are cancelled, in-flight tasks see the abort', async () => {
      const startedAt: number[] = []
      let failedAt = 0
      const sawAbort: number[] = []
      const report = await forkJoin(
        range(40),
        async (i, ctx) => {
          startedAt[i] = performance.now()
          if (i === 5) {
            await sleep(15)
            failedAt = performance.now()
            throw new Error('boom at 5')
          }
          try {
            await Promise.race([sleep(i < 5 ? 200 : 5), waitForAbort(ctx.signal)])
          } catch (error) {
            sawAbort.push(i)
            throw error
          }
          return i
        },
        {workers: w(6), mode: 'fail-fast'},
      )
      expect(report.rejected).toBe(1)
      expect((report.firstError as Error).message).toBe('boom at 5')
      expect(report.stopped).toBe(true)
      expect(report.stopReason).toBe(report.firstError)
      for (const t of startedAt) if (t !== undefined) expect(t).toBeLessThanOrEqual(failedAt)
      // Items 0-3 (200 ms each) and a quick one were in flight when 5 failed: they saw the signal and are cancelled.
      expect(sawAbort).toEqual(expect.arrayContaining([0, 1, 2, 3]))
      for (const i of sawAbort) expect(report.outcomes[i]).toMatchObject({status: 'cancelled', attempts: 1})
      const statuses = report.outcomes.map((o) => o.status)
      expect(statuses[5]).toBe('rejected')
      expect(statuses.filter((s) => s === 'cancelled').length).toBe(report.cancelled)
      expect(report.fulfilled + report.rejected + report.cancelled).toBe(40)
      const unstarted = report.outcomes.filter((_outcome, i) => startedAt[i] === undefined)
      expect(unstarted.length).toBeGreaterThan(30)
      for (const o of unstarted) expect(o).toMatchObject({status: 'cancelled', attempts: 0, reason: report.firstError})
      const inFlight = report.outcomes[0] as Extract<Outcome<number>, {status: 'cancelled'}>
      expect(inFlight.attempts).toBe(1)
      expect(inFlight.error).toBe(report.firstError) // what the task threw: the abort reason it was handed
    })

    it('settle: every item runs and every error is recorded (graceful degradation)', async () => {
      const report = await forkJoin(
        range(30),
        async (i) => {
          await sleep(1)
          if (i % 7 === 0) throw new Error(`bad ${i}`)
          return i
        },
        {workers: w(4), mode: 'settle'},
      )
      expect(report).toMatchObject({fulfilled: 25, rejected: 5, cancelled: 0, stopped: false})
      expect(report.outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.error as Error).message] : []))).toEqual([
        'bad 0',
        'bad 7',
        'bad 14',
        'bad 21',
        'bad 28',
      ])
      expect((report.firstError as Error).message).toBe('bad 0')
    })

    it('survives tasks that throw synchronously or throw non-Errors, and reuses their slot', async () => {
      const report = await forkJoin(
        ['sync', 'string', 'undefined', 'fine'],
        (kind) => {
          if (kind === 'sync') throw new TypeError('thrown before any promise')
          if (kind === 'string') return Promise.reject('just a string')
          if (kind === 'undefined') return Promise.reject(undefined)
          return Promise.resolve('ok')
        },
        {workers: w(1), mode: 'settle'},
      )
      const [sync, string, undef, fine] = report.outcomes
      expect(sync).toMatchObject({status: 'rejected', error: expect.any(TypeError)})
      expect(string).toMatchObject({status: 'rejected'})
      expect((string as {error: Error}).error.message).toContain('"just a string"')
      expect((undef as {error: Error}).error).toBeInstanceOf(Error)
      expect(fine).toMatchObject({status: 'fulfilled', value: 'ok'})
    })
  })

  describe('forkJoin: timeouts and retries', () => {
    it('times out an attempt that never settles, aborts its signal, and frees the worker for the next item', async () => {
      let seenReason: unknown
      const started = performance.now()
      const report = await forkJoin(
        ['hang', 'quick'],
        (kind, ctx) => {
          if (kind === 'quick') return 'done'
          ctx.signal.addEventListener('abort', () => (seenReason = ctx.signal.reason))
          return new Promise<string>(() => {})
        },
        {workers: w(1), mode: 'settle', timeoutMs: 60},
      )
      const elapsed = performance.now() - started
      expect(report.outcomes[0]).toMatchObject({status: 'rejected', error: expect.any(TimeoutError), attempts: 1})
      expect(report.outcomes[1]).toMatchObject({status: 'fulfilled', value: 'done'})
      expect(seenReason).toBeInstanceOf(TimeoutError)
      expect(elapsed).toBeGreaterThanOrEqual(55)
      expect(elapsed).toBeLessThan(500)
      expect(report.outcomes[0]!.durationMs).toBeGreaterThanOrEqual(55)
    })

    it('a task settling after its timeout does not disturb the task that took its worker', async () => {
      const report = await forkJoin(
        [80, 60],
        async (ms) => {
          await sleep(ms)
          return ms
        },
        {workers: w(1), mode: 'settle', timeoutMs: 40},
      )
      // The first overruns (settles at 80 ms, while the second is running); the second overruns on its own account.
      expect(report.outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
      const fine = await forkJoin([80, 10], (ms) => sleep(ms).then(() => ms), {workers: w(1), mode: 'settle', timeoutMs: 40})
      expect(fine.outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled'])
    })

    it('retries with exponential backoff and counts attempts', async () => {
      const attemptTimes: number[] = []
      const report = await forkJoin(
        ['flaky'],
        async (_item, ctx) => {
          attemptTimes.push(performance.now())
          if (ctx.attempt < 4) throw new Error(`attempt ${ctx.attempt} failed`)
          return ctx.attempt
        },
        {workers: w(1), retries: 3, backoff: {initialMs: 40, factor: 2, jitter: 0}},
      )
      expect(report.outcomes[0]).toMatchObject({status: 'fulfilled', value: 4, attempts: 4})
      const gaps = attemptTimes.slice(1).map((t, i) => t - attemptTimes[i]!)
      expect(gaps[0]).toBeGreaterThanOrEqual(38)
      expect(gaps[1]).toBeGreaterThanOrEqual(78)
      expect(gaps[2]).toBeGreaterThanOrEqual(158)
      expect(gaps[2]!).toBeGreaterThan(gaps[1]! * 1.5)
    })

    it('gives up after the last retry, retries timeouts, and honours shouldRetry', async () => {
      const always = await forkJoin(['x'], async () => Promise.reject(new Error('nope')), {
        workers: w(1),
        retries: 2,
        backoff: {initialMs: 1},
      })
      expect(always.outcomes[0]).toMatchObject({status: 'rejected', attempts: 3})
      const slowThenFast = await forkJoin(['x'], (_x, ctx) => (ctx.attempt === 1 ? sleep(500).then(() => 'first') : 'second'), {
        workers: w(1),
        retries: 1,
        timeoutMs: 30,
        backoff: {initialMs: 1},
      })
      expect(slowThenFast.outcomes[0]).toMatchObject({status: 'fulfilled', value: 'second', attempts: 2})
      const picky = await forkJoin(['x'], async () => Promise.reject(new Error('fatal')), {
        workers: w(1),
        retries: 5,
        shouldRetry: (error) => !(error as Error).message.includes('fatal'),
      })
      expect(picky.outcomes[0]).toMatchObject({status: 'rejected', attempts: 1})
    })

    it('takes a timeout and a retry count per item when given functions', async () => {
      const items = [
        {name: 'patient', timeoutMs: 0, retries: 0, ms: 80},
        {name: 'strict', timeoutMs: 20, retries: 2, ms: 80},
      ]
      const attempts = new Map<string, number>()
      const report = await forkJoin(
        items,
        async (item) => {
          attempts.set(item.name, (attempts.get(item.name) ?? 0) + 1)
          await sleep(item.ms)
          return item.name
        },
        {workers: w(2), mode: 'settle', timeoutMs: (i) => i.timeoutMs, retries: (i) => i.retries, backoff: {initialMs: 1}},
      )
      expect(report.outcomes[0]).toMatchObject({status: 'fulfilled', value: 'patient', attempts: 1})
      expect(report.outcomes[1]).toMatchObject({status: 'rejected', error: expect.any(TimeoutError), attempts: 3})
      expect((report.outcomes[1] as {error: TimeoutError}).error.timeoutMs).toBe(20)
      expect(attempts.get('strict')).toBe(3)
    })

    it('abortGraceMs lets a task that stops on its signal report its own error; one that ignores it still times out', async () => {
      const cooperative = await forkJoin(
        ['x'],
        (_x, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => setTimeout(() => reject(new Error('connected, but no answer')), 5))
          }),
        {workers: w(1), timeoutMs: 30, abortGraceMs: 200},
      )
      expect(cooperative.outcomes[0]).toMatchObject({status: 'rejected', error: {message: 'connected, but no answer'}})
      const started = performance.now()
      const stubborn = await forkJoin(['x'], () => new Promise(() => {}), {workers: w(1), timeoutMs: 30, abortGraceMs: 50})
      expect(stubborn.outcomes[0]).toMatchObject({status: 'rejected', error: expect.any(TimeoutError)})
      expect(performance.now() - started).toBeGreaterThanOrEqual(75)
    })

    it('an abort during backoff cancels the item at once', async () => {
      const controller = new AbortController()
      setTimeout(() => controller.abort(new Error('interrupted')), 50)
      const started = performance.now()
      const report = await forkJoin(['x'], async () => Promise.reject(new Error('down')), {
        workers: w(1),
        retries: 5,
        backoff: {initialMs: 10_000, jitter: 0},
        signal: controller.signal,
      })
      expect(performance.now() - started).toBeLessThan(1000)
      expect(report.outcomes[0]).toMatchObject({status: 'cancelled', attempts: 1})
      expect((report.stopReason as Error).message).toBe('interrupted')
    })
  })

  describe('forkJoin: waves, outer signal, rate, hooks', () => {
    it('waves: nothing of a wave starts before the previous wave has settled', async () => {
      const events: [string, number, number][] = []
      await forkJoin(
        range(20),
        async (i) => {
          events.push(['start', i, performance.now()])
          await sleep(5 + (i % 3) * 5)
          events.push(['end', i, performance.now()])
        },
        {workers: w(8), waves: [1, 4], mode: 'settle'},
      )
      const waveOf = (i: number) => (i < 1 ? 0 : i < 5 ? 1 : 2)
      for (const [kind, i, t] of events) {
        if (kind !== 'start' || waveOf(i) === 0) continue
        const earlier = events.filter(([k, j]) => k === 'end' && waveOf(j) === waveOf(i) - 1)
        expect(earlier.length).toBe(waveOf(i) === 1 ? 1 : 4)
        for (const [, , end] of earlier) expect(end).toBeLessThanOrEqual(t)
      }
    })

    it('waves: a failure in a wave halts the later waves, even in settle mode', async () => {
      const report = await forkJoin(
        range(20),
        async (i) => {
          if (i === 2) throw new Error('canary died')
          return i
        },
        {workers: w(8), waves: [1, 4], mode: 'settle'},
      )
      expect(report.fulfilled).toBe(4)
      expect(report.rejected).toBe(1)
      expect(report.cancelled).toBe(15)
      expect(report.stopReason).toBeInstanceOf(WaveHaltedError)
      expect((report.stopReason as Error).message).toBe('wave 2 had 1 failure; later waves were not started')
    })

    it('outer signal: in-flight tasks see it, the rest are cancelled with its reason', async () => {
      const controller = new AbortController()
      const reason = new Error('Ctrl-C')
      const started = new Set<number>()
      setTimeout(() => controller.abort(reason), 30)
      const report = await forkJoin(
        range(50),
        async (i, ctx) => {
          started.add(i)
          await Promise.race([sleep(20), waitForAbort(ctx.signal)])
          return i
        },
        {workers: w(2), signal: controller.signal, mode: 'settle'},
      )
      expect(report.stopped).toBe(true)
      expect(report.stopReason).toBe(reason)
      expect(report.fulfilled).toBeGreaterThanOrEqual(2)
      expect(report.fulfilled + report.cancelled).toBe(50)
      expect(started.size).toBeLessThan(10)
      const alreadyAborted = await forkJoin(range(3), async () => 1, {workers: w(2), signal: AbortSignal.abort('early')})
      expect(alreadyAborted).toMatchObject({fulfilled: 0, cancelled: 3, stopReason: 'early'})
    })

    it('rate caps task starts per interval', async () => {
      const starts: number[] = []
      const t0 = performance.now()
      await forkJoin(range(12), async () => void starts.push(performance.now() - t0), {
        workers: w(12),
        rate: {limit: 4, intervalMs: 100},
      })
      // 12 starts at 4 per 100 ms need three intervals: the last batch cannot start before ~200 ms.
      expect(starts.filter((t) => t < 90).length).toBeLessThanOrEqual(4)
      expect(Math.max(...starts)).toBeGreaterThanOrEqual(190)
    })

    it('calls onStart and onSettle once per item, cancelled ones included', async () => {
      const started: number[] = []
      const settled = new Map<number, string>()
      await forkJoin(
        range(10),
        async (i) => {
          if (i === 1) throw new Error('x')
          await sleep(5)
        },
        {workers: w(2), onStart: (i) => started.push(i), onSettle: (i, outcome) => settled.set(i, outcome.status)},
      )
      expect(settled.size).toBe(10)
      expect([...settled.values()].filter((s) => s === 'cancelled').length).toBe(10 - started.length)
    })
  })

  describe('forkJoin: streaming', () => {
    it('streams a generator of unknown length through onSettle, in bounded concurrency', async () => {
      let pulled = 0
      function* numbers() {
        for (let i = 0; i < 10_000; i++) {
          pulled++
          yield i
        }
      }
      let sum = 0
      const meter = inFlightMeter()
      const summary = await forkJoin(numbers(), (i) =>
        meter.around(async () => {
          if (i % 100 === 0) await sleep(1)
          return i * 2
        }), {
        workers: w(16),
        onSettle: (_index, outcome) => {
          if (outcome.status === 'fulfilled') sum += outcome.value
        },
      })
      expect(summary).toMatchObject({total: 10_000, fulfilled: 10_000})
      expect('outcomes' in summary).toBe(false)
      expect(sum).toBe(9999 * 10_000)
      expect(pulled).toBe(10_000)
      expect(meter.max).toBe(16)
    })

    it('pulls an async generator lazily and closes it when the run stops early', async () => {
      let closed = false
      let pulled = 0
      async function* lines() {
        try {
          for (let i = 0; ; i++) {
            pulled++
            await sleep(0)
            yield `line ${i}`
          }
        } finally {
          closed = true
        }
      }
      const summary = await forkJoin(
        lines(),
        async (line) => {
          if (line === 'line 20') throw new Error('stop here')
        },
        {workers: w(3)},
      )
      expect(summary.rejected).toBe(1)
      expect(closed).toBe(true)
      expect(pulled).toBeLessThan(30)
    })
  })
})

describe('forkLoops', () => {
  it('forks long-running loops and the first to throw cancels the rest', async () => {
    const iterations = [0, 0, 0]
    const report = await forkLoops(3, async (worker, signal) => {
      while (!signal.aborted) {
        iterations[worker]!++
        await sleep(2)
        if (worker === 1 && iterations[1]! === 10) throw new Error('loop 1 broke')
      }
    })
    expect(report.rejected).toBe(1)
    expect((report.firstError as Error).message).toBe('loop 1 broke')
    expect(iterations[0]).toBeGreaterThan(3)
    expect(iterations[2]).toBeGreaterThan(3)
  })
})
