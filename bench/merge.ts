/**
 * `npm run bench:merge`: merging the 64 shard reports of a 100,000-target healthcheck (FANOUT_BENCH_TARGETS to
 * change the size), as `fanout merge` is run after an Indexed Job: the whole --json document and the table.
 * Targets: ≤ 3 s and ≤ 300 MB peak RSS. The shard documents are made by the code a sharded run uses (the same
 * assignment, stamp and envelope), each result shaped from a real healthcheck's result so that its size is true.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {HealthResult} from '../src/health/result.js'
import {envelope} from '../src/report/envelope.js'
import {renderTable} from '../src/report/table.js'
import {Sharding, stamped} from '../src/shard/stamp.js'
import {runFanout} from './fanout-process.js'

const TARGETS = Number(process.env.FANOUT_BENCH_TARGETS ?? 100_000)

/**
 * CPU milliseconds of this process's children that have ended (cutime + cstime of /proc/self/stat, in the usual
 * 100 ticks a second): on a machine shared with other work the wall time says more about them than about fanout.
 */
async function childrenCpuMs(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) * 10
}

const SHARDS = 64

const server = createServer((_request, response) => response.end('ok'))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(server.address() as {port: number}).port}`
const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-merge-'))
try {
  const real = await runFanout(['healthcheck', `${base}/health`, '--json', '--quiet'])
  const template = (JSON.parse(real.stdout) as {results: HealthResult[]}).results[0]!
  const urls = Array.from({length: TARGETS}, (_, i) => `${base}/health?backend=${i}`)
  const files: string[] = []
  for (let index = 0; index < SHARDS; index++) {
    const sharding = new Sharding({index, count: SHARDS, by: 'hash'})
    const {items, stamp} = sharding.take(urls, (url) => url, urls)
    const results = items.map((url) => ({...template, target: url, name: url}))
    const file = join(dir, `shard-${index}.json`)
    await writeFile(file, `${JSON.stringify(stamped(envelope('healthcheck', results, 1000, false), sharding.runId, stamp))}\n`)
    files.push(file)
  }
  const runs = []
  for (const format of ['--json', '--quiet']) {
    const before = await childrenCpuMs()
    const run = await runFanout(['merge', ...files, format])
    const cpuMs = (await childrenCpuMs()) - before
    if (run.code !== 0) throw new Error(`merge exited ${run.code}`)
    if (format === '--json' && (JSON.parse(run.stdout) as {summary: {total: number}}).summary.total !== TARGETS) throw new Error('merged report lost targets')
    runs.push({format: format === '--json' ? 'json' : 'table', cpuMs, ...run})
  }
  console.log(`fanout merge of ${SHARDS} healthcheck shard reports, ${TARGETS.toLocaleString('en')} targets in all`)
  console.log(renderTable(['output', 'wall', 'CPU (user+sys)', 'peak RSS MB'], runs.map((run) => [run.format, `${(run.wallMs / 1000).toFixed(2)} s`, `${(run.cpuMs / 1000).toFixed(2)} s`, run.peakRssMb.toFixed(0)])))
  for (const run of runs) {
    const ok = run.wallMs <= 3000 && run.peakRssMb <= 300
    console.log(`${ok ? 'PASS' : 'MISS'}  ${run.format}: ${(run.wallMs / 1000).toFixed(2)} s (≤ 3 s), ${run.peakRssMb.toFixed(0)} MB (≤ 300 MB)`)
  }
} finally {
  server.close()
  await rm(dir, {recursive: true, force: true})
}
