/**
 * `npm run bench:loadtest [-- --quick] [--only http1|https|http2]`: requests/s of fanout loadtest against the usual clients, for three
 * protocols, against nginx from Debian's packages (started here on free ports, 1 worker pinned to core 0, with
 * `ssl` and `ssl http2` servers and a certificate made here with openssl), each client pinned to core 1:
 * - HTTP/1.1, 50 connections: fanout, autocannon, wrk;
 * - HTTPS, 50 connections: fanout, autocannon, wrk;
 * - HTTP/2, 10 connections x 10 streams: fanout, a bare node:http2 loop (bench/h2-loop.ts), h2load.
 * Each runs twice, interleaved, for LOADTEST_BENCH_SECONDS (10; 3 with --quick), the better run counting. Then the
 * peak RSS of fanout over LOADTEST_BENCH_LONG_SECONDS (60; 6 with --quick) against the short run, per protocol
 * (LOADTEST_BENCH_LONG=0 skips it). Missing programs are skipped with a line naming their package.
 */
import {spawn, spawnSync} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {renderTable} from '../src/report/table.js'
import {BIN, runProcess} from './fanout-process.js'
import {onlyPart} from './only-part.js'

const {values} = parseArgs({options: {quick: {type: 'boolean', default: false}, only: {type: 'string'}}})
const quick = values.quick
const wanted = onlyPart(['http1', 'https', 'http2'], values.only)
const SECONDS = Number(process.env.LOADTEST_BENCH_SECONDS ?? (quick ? 3 : 10))
const LONG_SECONDS = Number(process.env.LOADTEST_BENCH_LONG_SECONDS ?? (quick ? 6 : 60))
const CONNECTIONS = 50
const H2 = {connections: 10, streams: 10}
const AUTOCANNON = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url))
const H2_LOOP = fileURLToPath(new URL('./h2-loop.js', import.meta.url))
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
const pinned = (command: string, args: string[]) => runProcess('taskset', ['-c', '1', command, ...args])

interface Result {
  rps: number
  peakRssMb: number
}

for (const [program, pkg] of [['nginx', 'nginx'], ['openssl', 'openssl'], ['wrk', 'wrk'], ['h2load', 'nghttp2-client']]) {
  if (!has(program)) console.log(`${program} not found: apt-get install -y ${pkg} (its rows are skipped)`)
}
if (!has('nginx') || !has('openssl')) process.exit(1)

const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-load-'))
spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'ignore'})
const [plain, tls, h2] = [await freePort(), await freePort(), await freePort()]
const body = 'location / { return 200 "hello from nginx\\n"; }'
const certs = `ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem;`
await writeFile(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path ${dir};
  server { listen 127.0.0.1:${plain}; ${body} }
  server { listen 127.0.0.1:${tls} ssl; ${certs} ${body} }
  server { listen 127.0.0.1:${h2} ssl http2; http2_max_concurrent_streams 128; ${certs} ${body} } }\n`)
const nginx: ChildProcess = spawn('taskset', ['-c', '0', 'nginx', '-c', join(dir, 'nginx.conf'), '-p', dir], {stdio: 'inherit'})
await sleep(700)

async function fanout(url: string, seconds: number, extra: string[]): Promise<Result> {
  const run = await pinned(process.execPath, [BIN, 'loadtest', url, '-d', `${seconds}s`, '--json', '-q', ...extra])
  const report = JSON.parse(run.stdout)
  if (report.summary.errors > 0) console.log(`fanout ${extra.join(' ')}: ${report.summary.errors} errors`, report.errors)
  return {rps: report.summary.rps, peakRssMb: run.peakRssMb}
}

async function autocannon(url: string): Promise<Result> {
  // autocannon verifies certificates through Node's defaults: the bench's own certificate is trusted for it this way.
  const run = await runProcess('env', ['NODE_TLS_REJECT_UNAUTHORIZED=0', 'NODE_NO_WARNINGS=1', 'taskset', '-c', '1', process.execPath, AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(SECONDS), '--json', url])
  const result = JSON.parse(run.stdout)
  return {rps: result.requests.total / (result.duration || SECONDS), peakRssMb: run.peakRssMb}
}

async function wrk(url: string): Promise<Result> {
  const run = await pinned('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, url])
  return {rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(run.stdout)?.[1]), peakRssMb: run.peakRssMb}
}

async function h2loop(url: string): Promise<Result> {
  const run = await pinned(process.execPath, [H2_LOOP, url, String(H2.connections), String(H2.streams), String(SECONDS)])
  return {rps: JSON.parse(run.stdout).rps, peakRssMb: run.peakRssMb}
}

async function h2load(url: string): Promise<Result> {
  const run = await pinned('h2load', ['-c', String(H2.connections), '-m', String(H2.streams), '-D', String(SECONDS), url])
  return {rps: Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(run.stdout)?.[1]), peakRssMb: run.peakRssMb}
}

type Client = [name: string, run: () => Promise<Result>]
interface Protocol {
  /** What `--only` calls it. */
  key: 'http1' | 'https' | 'http2'
  name: string
  ours: (seconds: number) => Promise<Result>
  others: Client[]
  /** [client name, the least ratio fanout/it the issue asks for] */
  targets: [string, number][]
}

const h1 = `http://127.0.0.1:${plain}/`
const https = `https://127.0.0.1:${tls}/`
const h2url = `https://127.0.0.1:${h2}/`
const protocols: Protocol[] = [
  {
    key: 'http1',
    name: `HTTP/1.1, ${CONNECTIONS} connections`,
    ours: (seconds) => fanout(h1, seconds, ['-w', String(CONNECTIONS)]),
    others: [['autocannon', () => autocannon(h1)], ...(has('wrk') ? [['wrk -t1', () => wrk(h1)] as Client] : [])],
    targets: [['autocannon', 1.3], ['wrk -t1', 0.7]],
  },
  {
    key: 'https',
    name: `HTTPS, ${CONNECTIONS} connections`,
    ours: (seconds) => fanout(https, seconds, ['-w', String(CONNECTIONS), '--insecure']),
    others: [['autocannon', () => autocannon(https)], ...(has('wrk') ? [['wrk -t1', () => wrk(https)] as Client] : [])],
    targets: [['autocannon', 1.3], ['wrk -t1', 0.7]],
  },
  {
    key: 'http2',
    name: `HTTP/2 over TLS, ${H2.connections} connections x ${H2.streams} streams`,
    ours: (seconds) => fanout(h2url, seconds, ['-w', String(H2.connections), '--streams', String(H2.streams), '--http2', '--insecure']),
    others: [['bare node:http2 loop', () => h2loop(h2url)], ...(has('h2load') ? [['h2load', () => h2load(h2url)] as Client] : [])],
    targets: [['bare node:http2 loop', 2]],
  },
]

const best = (runs: Result[]) => runs.reduce((a, b) => (b.rps > a.rps ? b : a))
const checks: [string, boolean][] = []
try {
  console.log(`nginx 1 worker on core 0, clients on core 1, ${SECONDS} s a run, best of two interleaved${quick ? ' (--quick)' : ''}`)
  for (const protocol of protocols.filter(({key}) => wanted(key))) {
    // This machine is shared: each client runs twice, interleaved with the others, and its better run counts.
    const runs: Result[][] = [[], ...protocol.others.map(() => [])]
    for (let round = 0; round < 2; round++) {
      runs[0]!.push(await protocol.ours(SECONDS))
      for (const [i, [, run]] of protocol.others.entries()) runs[i + 1]!.push(await run())
    }
    const ours = best(runs[0]!)
    const rows = [['fanout loadtest', ours] as const, ...protocol.others.map(([name], i) => [name, best(runs[i + 1]!)] as const)]
    console.log(`\n${protocol.name}`)
    console.log(renderTable(['client', 'req/s', 'fanout / it', 'peak RSS MB'], rows.map(([name, r]) => [name, Math.round(r.rps).toLocaleString('en'), `${(ours.rps / r.rps).toFixed(2)}x`, r.peakRssMb.toFixed(0)])))
    for (const [name, ratio] of protocol.targets) {
      const theirs = rows.find(([n]) => n === name)?.[1]
      if (theirs) checks.push([`${protocol.name}: fanout at least ${ratio}x ${name}: ${(ours.rps / theirs.rps).toFixed(2)}x`, ours.rps >= ratio * theirs.rps])
    }
    if (process.env.LOADTEST_BENCH_LONG !== '0') {
      const long = await protocol.ours(LONG_SECONDS)
      checks.push([`${protocol.name}: peak RSS of ${LONG_SECONDS} s within 10% of ${SECONDS} s: ${long.peakRssMb.toFixed(0)} / ${ours.peakRssMb.toFixed(0)} MB = ${(long.peakRssMb / ours.peakRssMb).toFixed(2)}x`, long.peakRssMb <= 1.1 * ours.peakRssMb])
    }
  }
  console.log('')
  for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
} finally {
  nginx.kill()
  await rm(dir, {recursive: true, force: true})
}

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}
