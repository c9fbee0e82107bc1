/**
 * `npm run bench:engine`: 1,000,000 no-op async tasks at 64 workers — a bare pool, forkJoin, p-map, p-limit and
 * p-queue, without and with a 5 s per-task timeout — then 10,000,000 items streamed from a generator.
 * Wall times: the fast contenders interleaved run by run in one process, medians; the slow ones (p-limit, p-queue)
 * in a process of their own. Peak RSS: each contender alone in a process. Ratios are against the bare pool.
 */
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {renderTable} from '../src/report/table.js'

const caseScript = fileURLToPath(new URL('engine-case.js', import.meta.url))

type Measures = Record<string, {ms: number; rssMb: number}>

function run(...args: string[]): Measures {
  return JSON.parse(execFileSync(process.execPath, [caseScript, ...args], {encoding: 'utf8'})) as Measures
}

const fast = ['bare:0', 'forkJoin:0', 'p-map:0', 'bare:5000', 'forkJoin:5000', 'p-map:5000']
const slow = ['p-limit:0', 'p-queue:0', 'p-limit:5000', 'p-queue:5000']
process.stderr.write('timing… ')
const times: Measures = {...run('time', '9', ...fast), ...run('time', '2', ...slow)}
const rss: Record<string, number> = {}
for (const spec of [...fast, ...slow]) {
  process.stderr.write('.')
  rss[spec] = run('rss', spec)[spec]!.rssMb
}
const stream = run('rss', 'stream:0')['stream:0']!
process.stderr.write('\n')

const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`
const bare = {ms: times['bare:0']!.ms, rssMb: rss['bare:0']!}
const rows: string[][] = []
for (const spec of [...fast.slice(0, 3), ...slow.slice(0, 2), ...fast.slice(3), ...slow.slice(2)]) {
  const [name, timeout] = spec.split(':')
  const {ms} = times[spec]!
  rows.push([name!, timeout === '0' ? '-' : '5 s', ms.toFixed(0), ratio(ms, bare.ms), rss[spec]!.toFixed(0), ratio(rss[spec]!, bare.rssMb)])
}
console.log('1,000,000 no-op async tasks, 64 workers; ratios against the bare pool without timeout')
console.log(renderTable(['contender', 'timeout', 'wall ms', 'vs bare', 'peak RSS MB', 'vs bare'], rows))
const fj = times['forkJoin:0']!.ms
const fjTimeout = times['forkJoin:5000']!.ms
const checks: [string, boolean][] = [
  [`forkJoin within 2x the bare pool: ${ratio(fj, bare.ms)}`, fj <= 2 * bare.ms],
  [`forkJoin with a 5 s timeout within 3x: ${ratio(fjTimeout, bare.ms)}`, fjTimeout <= 3 * bare.ms],
  [`forkJoin peak RSS within 1.5x: ${ratio(rss['forkJoin:0']!, bare.rssMb)}`, rss['forkJoin:0']! <= 1.5 * bare.rssMb],
  [`forkJoin at least 5x faster than p-map: ${(times['p-map:0']!.ms / fj).toFixed(1)}x`, times['p-map:0']!.ms >= 5 * fj],
  [`10,000,000 items streamed from a generator: peak RSS ${stream.rssMb.toFixed(0)} MB, under 200 MB`, stream.rssMb < 200],
]
for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
