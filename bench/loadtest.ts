/**
 * `npm run bench:loadtest`: requests/s of fanout loadtest, autocannon and wrk (if installed) against the same
 * server — nginx from Debian's packages if installed (started here on a free port, pinned to core 0), else a Node
 * server — each client pinned to core 1 with --workers 50 for LOADTEST_BENCH_SECONDS (10), twice, interleaved, the
 * better run of each counting. Then fanout with
 * --threads 2 on both cores, and the peak RSS of a 60 s run against a 10 s one (LOADTEST_BENCH_LONG=0 skips it).
 */
import {spawn, spawnSync} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import {createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {renderTable} from '../src/report/table.js'
import {BIN, runProcess} from './fanout-process.js'

const SECONDS = Number(process.env.LOADTEST_BENCH_SECONDS ?? 10)
const WORKERS = 50
const AUTOCANNON = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url))
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
const pinned = (cores: string, command: string, args: string[]) => runProcess('taskset', ['-c', cores, command, ...args])

const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-load-'))
const port = await freePort()
let nginx: ChildProcess | undefined
let fallback: ReturnType<typeof createServer> | undefined
let serverName: string

if (has('nginx')) {
  await writeFile(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 200 "hello from nginx\\n"; } } }\n`)
  nginx = spawn('taskset', ['-c', '0', 'nginx', '-c', join(dir, 'nginx.conf'), '-p', dir], {stdio: 'inherit'})
  serverName = 'nginx (1 worker, core 0)'
} else {
  fallback = createServer((_request, response) => response.end('hello from node\n')).listen(port, '127.0.0.1')
  serverName = 'a Node server in the bench process (nginx not installed: apt-get install -y nginx-light)'
}
const url = `http://127.0.0.1:${port}/`
await sleep(500)

async function fanout(seconds: number, extra: string[], cores = '1') {
  const run = await pinned(cores, process.execPath, [BIN, 'loadtest', url, '-w', String(WORKERS), '-d', `${seconds}s`, '--json', '-q', ...extra])
  const report = JSON.parse(run.stdout)
  return {rps: report.summary.rps as number, p99: report.summary.latency.p99 as number, errors: report.summary.errors as number, peakRssMb: run.peakRssMb}
}

async function autocannon() {
  const run = await pinned('1', process.execPath, [AUTOCANNON, '-c', String(WORKERS), '-d', String(SECONDS), '--json', url])
  const result = JSON.parse(run.stdout)
  return {rps: result.requests.total / (result.duration || SECONDS), p99: result.latency.p99 as number, errors: result.errors as number, peakRssMb: run.peakRssMb}
}

async function wrk() {
  const run = await pinned('1', 'wrk', ['-t1', `-c${WORKERS}`, `-d${SECONDS}s`, '--latency', url])
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(run.stdout)?.[1])
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(run.stdout)
  const ms = p99 ? Number(p99[1]) * ({us: 0.001, ms: 1, s: 1000} as Record<string, number>)[p99[2]!]! : Number.NaN
  return {rps, p99: ms, errors: 0, peakRssMb: run.peakRssMb}
}

try {
  // This machine is shared: each client runs twice, interleaved with the others, and its better run counts.
  const best = <T extends {rps: number}>(runs: T[]) => runs.reduce((a, b) => (b.rps > a.rps ? b : a))
  const rounds: {ours: Awaited<ReturnType<typeof fanout>>; theirs: Awaited<ReturnType<typeof autocannon>>; c?: Awaited<ReturnType<typeof wrk>>}[] = []
  for (let round = 0; round < 2; round++) rounds.push({ours: await fanout(SECONDS, []), theirs: await autocannon(), c: has('wrk') ? await wrk() : undefined})
  const ours = best(rounds.map((round) => round.ours))
  const theirs = best(rounds.map((round) => round.theirs))
  const c = rounds[0]!.c && best(rounds.map((round) => round.c!))
  const threads = await fanout(SECONDS, ['--threads', '2'], '0,1')
  const row = (name: string, r: {rps: number; p99: number; peakRssMb: number}) => [name, Math.round(r.rps).toLocaleString('en'), `${(r.rps / ours.rps).toFixed(2)}x`, r.p99.toFixed(3), r.peakRssMb.toFixed(0)]
  const rows = [row('fanout loadtest (1 core)', ours), row('autocannon (1 core)', theirs)]
  if (c) rows.push(row('wrk -t1 (1 core)', c))
  rows.push(row('fanout loadtest --threads 2 (cores 0,1, beside nginx)', threads))
  console.log(`${WORKERS} connections for ${SECONDS} s against ${serverName}`)
  console.log(renderTable(['client', 'req/s', 'vs fanout', 'p99 ms', 'peak RSS MB'], rows))
  const checks: [string, boolean][] = [[`fanout at least 1.3x autocannon: ${(ours.rps / theirs.rps).toFixed(2)}x`, ours.rps >= 1.3 * theirs.rps]]
  if (c) checks.push([`fanout at least 0.7x wrk single-threaded: ${(ours.rps / c.rps).toFixed(2)}x`, ours.rps >= 0.7 * c.rps])
  console.log(`--threads 2 gain: ${(threads.rps / ours.rps).toFixed(2)}x (two cores shared with the server)`)
  if (process.env.LOADTEST_BENCH_LONG !== '0') {
    const long = await fanout(60, [])
    console.log(`peak RSS: 60 s run ${long.peakRssMb.toFixed(0)} MB, 10 s run ${ours.peakRssMb.toFixed(0)} MB`)
    checks.push([`60 s peak RSS within 10% of 10 s: ${(long.peakRssMb / ours.peakRssMb).toFixed(2)}x`, long.peakRssMb <= 1.1 * ours.peakRssMb])
  }
  for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
} finally {
  nginx?.kill()
  fallback?.close()
  await rm(dir, {recursive: true, force: true})
}

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}
