/**
 * `npm run bench:healthcheck`: HTTP backends on a local fixture server that answers each after 100 ms.
 * 2,000 backends at --workers 200 against the ideal wall time (ceil(2000/200) × 100 ms = 1 s); 20,000 backends
 * for peak RSS; and the sequential baseline (--workers 1 on 100 backends, extrapolated to 2,000).
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {renderTable} from '../src/report/table.js'
import {runFanout} from './fanout-process.js'

// Imported by URL: the compiled bench runs from dist/bench, the fixture stays where it is.
const fixture = new URL('../../fixtures/servers/backends.mjs', import.meta.url).href
const {startBackends} = (await import(fixture)) as typeof import('../fixtures/servers/backends.mjs')

const DELAY_MS = 100
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']

const backends = await startBackends({hosts: HOSTS, delayMs: DELAY_MS})
const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-health-'))

async function urlFile(count: number): Promise<string> {
  const path = join(dir, `urls-${count}.txt`)
  const urls = Array.from({length: count}, (_, i) => `http://${HOSTS[i % HOSTS.length]}:${backends.port}/health?backend=${i}`)
  await writeFile(path, `${urls.join('\n')}\n`)
  return path
}

async function measure(count: number, workers: number) {
  const run = await runFanout(['healthcheck', '--file', await urlFile(count), '--workers', String(workers), '--json', '--quiet'])
  const report = JSON.parse(run.stdout)
  if (report.summary.succeeded !== count) throw new Error(`expected ${count} healthy, got ${JSON.stringify(report.summary)}`)
  const ideal = Math.ceil(count / workers) * DELAY_MS
  return {count, workers, runMs: report.summary.durationMs as number, wallMs: run.wallMs, peakRssMb: run.peakRssMb, ideal}
}

try {
  const rows = [await measure(2000, 200), await measure(20_000, 200), await measure(100, 1)]
  const [fan, big, sequential] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]]
  const table = rows.map((r) => [
    String(r.count),
    String(r.workers),
    `${(r.runMs / 1000).toFixed(2)} s`,
    `${(r.ideal / 1000).toFixed(1)} s`,
    `${(r.runMs / r.ideal).toFixed(2)}x`,
    `${(r.wallMs / 1000).toFixed(2)} s`,
    r.peakRssMb.toFixed(0),
  ])
  console.log(`HTTP backends answering after ${DELAY_MS} ms, on ${HOSTS.length} loopback addresses`)
  console.log(renderTable(['backends', 'workers', 'run', 'ideal', 'vs ideal', 'process wall', 'peak RSS MB'], table))
  const sequential2000 = (sequential.runMs / 100) * 2000
  console.log(`sequential baseline (--workers 1), extrapolated to 2,000 backends: ${(sequential2000 / 1000).toFixed(0)} s — ${(sequential2000 / fan.runMs).toFixed(0)}x slower than --workers 200`)
  const checks: [string, boolean][] = [
    [`2,000 backends at --workers 200 within 1.3x of the ideal: ${(fan.runMs / fan.ideal).toFixed(2)}x`, fan.runMs <= 1.3 * fan.ideal],
    [`20,000 backends: peak RSS ${big.peakRssMb.toFixed(0)} MB, under 300 MB`, big.peakRssMb < 300],
  ]
  for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
} finally {
  await backends.close()
}
