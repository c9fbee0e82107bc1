/**
 * `npm run bench:merge`: merging the 64 shard reports of a 100,000-target healthcheck (FANOUT_BENCH_TARGETS to
 * change the size), as `fanout merge` is run after an Indexed Job, in every output: the --json document on stdout,
 * the table, and --format junit, prometheus and html written with --output. Targets: ≤ 3 s and ≤ 300 MB peak RSS.
 * The shard documents are made by the code a sharded run uses (the same assignment, stamp and envelope), each result
 * shaped from a real healthcheck's result so that its size is true. fanout runs as it is installed, with the oclif
 * manifest a package ships (made here, removed after, as bench:startup does): without it oclif loads every command.
 * The anchor is the least any merge does: node reading the 64 files, parsing them and writing the results as one
 * JSON document. Turns are interleaved (TURNS=N, default 3); the best wall time of each is shown, the CPU time of that
 * turn, and the highest peak RSS (getrusage via /usr/bin/time when present, else the kernel's high-water mark).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, rmSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {HealthResult} from '../src/health/result.js'
import {envelope} from '../src/report/envelope.js'
import {renderTable} from '../src/report/table.js'
import {Sharding, stamped} from '../src/shard/stamp.js'
import {BIN, runFanout, runProcess} from './fanout-process.js'
import type {ProcessRun} from './fanout-process.js'

const TARGETS = Number(process.env.FANOUT_BENCH_TARGETS ?? 100_000)
const TURNS = Number(process.env.TURNS ?? 3)
const SHARDS = 64
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TIME = '/usr/bin/time'

/** The least any merge does: read, parse, and write the results as one document. */
const ANCHOR = `
const {readFileSync} = require('node:fs')
const results = process.argv.slice(1).flatMap((file) => JSON.parse(readFileSync(file, 'utf8')).results)
process.stdout.write(JSON.stringify({results}) + '\\n')
`

interface Measured extends ProcessRun {
  cpuMs: number
}

/** One run with its CPU time and peak RSS from getrusage (/usr/bin/time), or the wall time and VmHWM poll alone. */
async function measure(dir: string, args: string[]): Promise<Measured> {
  if (!existsSync(TIME)) {
    const before = await childrenCpuMs()
    const run = await runProcess(process.execPath, args)
    return {...run, cpuMs: (await childrenCpuMs()) - before}
  }
  const file = join(dir, 'rusage.txt')
  const run = await runProcess(TIME, ['-f', '%U %S %M', '-o', file, process.execPath, ...args])
  const [user, system, maxKb] = (await readFile(file, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number)
  return {...run, cpuMs: (user! + system!) * 1000, peakRssMb: maxKb! / 1024}
}

/** CPU milliseconds of this process's children that have ended (cutime + cstime of /proc/self/stat, 100 ticks a second). */
async function childrenCpuMs(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) * 10
}

const server = createServer((_request, response) => response.end('ok'))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(server.address() as {port: number}).port}`
const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-merge-'))
const made = spawnSync(process.execPath, ['scripts/oclif-manifest.mjs'], {cwd: ROOT, encoding: 'utf8'})
if (made.status !== 0) throw new Error(`oclif manifest: ${made.stderr}`)
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
  const out = (name: string) => ['--output', join(dir, name)]
  const contenders: {name: string; args: string[]; check?: (run: Measured) => Promise<void>}[] = [
    {name: 'anchor: node parse + stringify', args: ['-e', ANCHOR, ...files]},
    {
      name: 'json (stdout)',
      args: [BIN, 'merge', ...files, '--json'],
      check: async (run) => {
        if ((JSON.parse(run.stdout) as {summary: {total: number}}).summary.total !== TARGETS) throw new Error('merged report lost targets')
      },
    },
    {name: 'table', args: [BIN, 'merge', ...files, '--quiet']},
    {name: 'junit (--output)', args: [BIN, 'merge', ...files, '--format', 'junit', ...out('merged.xml')], check: async () => count(join(dir, 'merged.xml'), /<testcase /g)},
    {name: 'prometheus (--output)', args: [BIN, 'merge', ...files, '--format', 'prometheus', ...out('merged.prom')], check: async () => count(join(dir, 'merged.prom'), /^probe_success\{/gm)},
    {name: 'html (--output)', args: [BIN, 'merge', ...files, '--format', 'html', ...out('merged.html')], check: async () => count(join(dir, 'merged.html'), /<tr class=/g)},
  ]
  const best: (Measured | undefined)[] = contenders.map(() => undefined)
  const peaks = contenders.map(() => 0)
  for (let turn = 0; turn < TURNS; turn++) {
    for (const [index, contender] of contenders.entries()) {
      const run = await measure(dir, contender.args)
      if (run.code !== 0) throw new Error(`${contender.name} exited ${run.code}`)
      await contender.check?.(run)
      run.stdout = ''
      if (!best[index] || run.wallMs < best[index]!.wallMs) best[index] = run
      peaks[index] = Math.max(peaks[index]!, run.peakRssMb)
    }
  }
  const anchor = best[0]!
  console.log(`fanout merge of ${SHARDS} healthcheck shard reports, ${TARGETS.toLocaleString('en')} targets in all; load average ${loadavg()[0]!.toFixed(1)} on this machine`)
  console.log(
    renderTable(
      ['output', 'wall', 'CPU (user+sys)', 'peak RSS MB', 'wall vs anchor', 'CPU vs anchor'],
      contenders.map(({name}, index) => {
        const run = best[index]!
        return [name, `${(run.wallMs / 1000).toFixed(2)} s`, `${(run.cpuMs / 1000).toFixed(2)} s`, peaks[index]!.toFixed(0), `${(run.wallMs / anchor.wallMs).toFixed(2)}x`, `${(run.cpuMs / anchor.cpuMs).toFixed(2)}x`]
      }),
    ),
  )
  console.log(`best wall time of ${TURNS} interleaved turns (its CPU time), highest peak RSS`)
  for (const [index, {name}] of contenders.entries()) {
    if (index === 0) continue
    const run = best[index]!
    const ok = run.wallMs <= 3000 && peaks[index]! <= 300
    console.log(`${ok ? 'PASS' : 'MISS'}  ${name}: ${(run.wallMs / 1000).toFixed(2)} s (≤ 3 s), ${peaks[index]!.toFixed(0)} MB (≤ 300 MB)`)
  }
} finally {
  rmSync(join(ROOT, 'oclif.manifest.json'), {force: true})
  server.close()
  await rm(dir, {recursive: true, force: true})
}

/** The merged file holds one match of `pattern` per target. */
async function count(file: string, pattern: RegExp): Promise<void> {
  const found = (await readFile(file, 'utf8')).match(pattern)?.length ?? 0
  if (found !== TARGETS) throw new Error(`${file}: ${found} entries, ${TARGETS} targets`)
}
