/**
 * One contender of the engine benchmark, in a process of its own so that its peak RSS is its own:
 * `node engine-case.js <contender> <timeoutMs> <runs>` prints {"ms": median wall time, "rssMb": peak RSS}.
 */
import PQueue from 'p-queue'
import pLimit from 'p-limit'
import pMap from 'p-map'

import {forkJoin} from '../src/engine/index.js'

const TASKS = 1_000_000
const WORKERS = 64
const STREAM_ITEMS = 10_000_000

type Contender = (items: number[], timeoutMs: number) => Promise<unknown>

const noop = async (_item: number): Promise<void> => {}

/** What a user of a library with no timeout of its own writes: a timer raced against each task. */
function withTimer(task: (item: number) => Promise<void>, timeoutMs: number): (item: number) => Promise<void> {
  if (timeoutMs === 0) return task
  return (item) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)
      task(item).then(
        () => {
          clearTimeout(timer)
          resolve()
        },
        (error) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
}

const contenders: Record<string, Contender> = {
  async bare(items, timeoutMs) {
    const task = withTimer(noop, timeoutMs)
    const results = new Array(items.length)
    let next = 0
    const loop = async () => {
      while (next < items.length) {
        const index = next++
        results[index] = await task(items[index]!)
      }
    }
    await Promise.all(Array.from({length: WORKERS}, loop))
    return results
  },
  forkJoin: (items, timeoutMs) => forkJoin(items, noop, {workers: WORKERS, timeoutMs}),
  'p-map': (items, timeoutMs) => pMap(items, withTimer(noop, timeoutMs), {concurrency: WORKERS}),
  async 'p-limit'(items, timeoutMs) {
    const limit = pLimit(WORKERS)
    const task = withTimer(noop, timeoutMs)
    return Promise.all(items.map((item) => limit(() => task(item))))
  },
  async 'p-queue'(items, timeoutMs) {
    const queue = new PQueue({concurrency: WORKERS, ...(timeoutMs ? {timeout: timeoutMs} : {})})
    return Promise.all(items.map((item) => queue.add(() => noop(item))))
  },
  async stream() {
    function* generate() {
      for (let i = 0; i < STREAM_ITEMS; i++) yield i
    }
    return forkJoin(generate(), noop, {workers: WORKERS})
  },
}

/**
 * `engine-case.js time <runs> <contender:timeoutMs>…` interleaves the contenders run by run (so that the machine's
 * drift hits all alike) and prints each one's median wall time; `engine-case.js rss <contender:timeoutMs>` runs one
 * contender once after a warm-up and prints the process's peak RSS.
 */
const [mode = 'time', ...rest] = process.argv.slice(2)
const runs = mode === 'time' ? Number(rest.shift()) : 1
const cases = rest.map((spec) => {
  const [name = '', timeout = '0'] = spec.split(':')
  const contender = contenders[name]
  if (!contender) throw new Error(`unknown contender ${name}; one of ${Object.keys(contenders).join(', ')}`)
  return {spec, contender, timeoutMs: Number(timeout), times: [] as number[]}
})
const items = Array.from({length: TASKS}, (_, i) => i)
for (let run = 0; run <= runs; run++) {
  for (const c of cases) {
    const started = performance.now()
    await c.contender(items, c.timeoutMs)
    if (run > 0) c.times.push(performance.now() - started) // run 0 warms up
  }
}
const result: Record<string, {ms: number; rssMb: number}> = {}
for (const c of cases) {
  c.times.sort((a, b) => a - b)
  result[c.spec] = {ms: c.times[Math.floor(c.times.length / 2)] ?? Number.NaN, rssMb: process.resourceUsage().maxRSS / 1024}
}
process.stdout.write(JSON.stringify(result) + '\n')
