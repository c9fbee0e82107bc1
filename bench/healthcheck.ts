/**
 * `npm run bench:healthcheck [-- --scale 0.1] [--only throughput|watch]`: fanout healthcheck against the same local backends (one process: HTTP
 * answering after 100 ms on four loopback addresses, a TCP port, a UDP DNS server) as
 *  - the floor: a bare client loop (bench/healthcheck-floor.ts), one connection per check as fanout opens;
 *  - curl --parallel --parallel-max W (Debian's curl), which reuses connections to a host, for its ratio;
 * for 2,000 HTTP checks at 200 workers and 20,000 mixed HTTP/TCP/DNS checks (peak RSS at most 300 MB); and --watch
 * over 5,000 checks for 10 rounds, whose resident size must stay flat (last round at most 1.1x the first). The
 * throughput part takes the best of TURNS (default 3) interleaved turns of each contender.
 */
import {spawn, spawnSync} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import * as dnsPacket from 'dns-packet'

import {renderTable} from '../src/report/table.js'
import {BIN, runFanout, runProcess} from './fanout-process.js'
import {onlyPart} from './only-part.js'

// Imported by URL: the compiled bench runs from dist/bench, the fixture stays where it is.
const fixture = new URL('../../fixtures/servers/backends.mjs', import.meta.url).href
const {startBackends} = (await import(fixture)) as typeof import('../fixtures/servers/backends.mjs')
const FLOOR = fileURLToPath(new URL('./healthcheck-floor.js', import.meta.url))

const {values} = parseArgs({options: {scale: {type: 'string', default: '1'}, only: {type: 'string'}}})
const scale = Number(values.scale)
// The watch part's ten rounds need no throughput runs before them.
const runs = onlyPart(['throughput', 'watch'], values.only)
const n = (count: number) => Math.max(10, Math.round(count * scale))

const DELAY_MS = 100
const WORKERS = 200
const TURNS = Number(process.env.TURNS ?? 3)
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']

const backends = await startBackends({hosts: HOSTS, delayMs: DELAY_MS})
const tcp = createServer((socket) => socket.destroy())
await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
const tcpPort = (tcp.address() as AddressInfo).port
const dns = createSocket('udp4')
dns.on('message', (message, from) => {
  const query = dnsPacket.decode(message)
  const answer = {type: 'response' as const, id: query.id, questions: query.questions, answers: [{type: 'A' as const, name: query.questions![0]!.name, data: '127.0.0.1'}]}
  dns.send(dnsPacket.encode(answer), from.port, from.address)
})
await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve))
const dnsPort = dns.address().port
const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-health-'))

type Kind = 'http' | 'tcp' | 'dns'
const httpUrl = (i: number) => `http://${HOSTS[i % HOSTS.length]}:${backends.port}/health?backend=${i}`
const kindOf = (i: number, mixed: boolean): Kind => (mixed ? (['http', 'tcp', 'dns'] as const)[i % 3]! : 'http')

/** The same targets for each contender: a URL list (floor, curl) and a Gatus configuration (fanout: DNS needs one). */
async function targets(count: number, mixed: boolean) {
  const floor: string[] = []
  const endpoints: string[] = ['endpoints:']
  const curl: string[] = []
  for (let i = 0; i < count; i++) {
    const kind = kindOf(i, mixed)
    if (kind === 'http') {
      floor.push(httpUrl(i))
      curl.push(`url = "${httpUrl(i)}"`, 'output = "/dev/null"')
      endpoints.push(`  - {name: c${i}, url: "${httpUrl(i)}"}`)
    } else if (kind === 'tcp') {
      floor.push(`tcp://127.0.0.1:${tcpPort}`)
      endpoints.push(`  - {name: c${i}, url: "tcp://127.0.0.1:${tcpPort}"}`)
    } else {
      floor.push(`dns://127.0.0.1:${dnsPort}?name=api${i}.test`)
      endpoints.push(`  - {name: c${i}, url: "127.0.0.1:${dnsPort}", dns: {query-name: api${i}.test, query-type: A}}`)
    }
  }
  const base = join(dir, `${mixed ? 'mixed' : 'http'}-${count}`)
  await writeFile(`${base}.txt`, `${floor.join('\n')}\n`)
  await writeFile(`${base}.yaml`, `${endpoints.join('\n')}\n`)
  await writeFile(`${base}.curl`, `${curl.join('\n')}\n`)
  return {floor: `${base}.txt`, gatus: `${base}.yaml`, curl: curl.length > 0 ? `${base}.curl` : undefined}
}

/** One turn of each contender on the same targets. */
async function round(files: Awaited<ReturnType<typeof targets>>, count: number, mixed: boolean) {
  const floorRun = await runProcess(process.execPath, [FLOOR, files.floor, String(WORKERS)])
  const floor = JSON.parse(floorRun.stdout) as {ms: number; ok: number}
  const fanoutRun = await runFanout(['healthcheck', '--file', files.gatus, '--workers', String(WORKERS), '--json', '--quiet'])
  const report = JSON.parse(fanoutRun.stdout)
  if (report.summary.succeeded !== count || floor.ok !== count) {
    throw new Error(`expected ${count} healthy: fanout ${JSON.stringify(report.summary)}, floor ${floor.ok}`)
  }
  let curlMs: number | undefined
  if (files.curl && !mixed && spawnSync('sh', ['-c', 'command -v curl']).status === 0) {
    curlMs = (await runProcess('curl', ['--parallel', '--parallel-max', String(WORKERS), '--no-progress-meter', '-s', '-K', files.curl])).wallMs
  }
  return {count, mixed, floorMs: floor.ms, fanoutMs: report.summary.durationMs as number, fanoutWallMs: fanoutRun.wallMs, curlMs, peakRssMb: fanoutRun.peakRssMb}
}

/** --watch rounds over `count` checks: the resident size after each round, read when its NDJSON line arrives. */
async function watchRss(count: number, rounds: number): Promise<number[]> {
  const files = await targets(count, false)
  const child = spawn(process.execPath, [BIN, 'healthcheck', '--file', files.floor, '--workers', String(WORKERS), '--watch', '1s', '--json', '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const sizes: number[] = []
  let buffered = ''
  await new Promise<void>((resolve) => {
    child.stdout.on('data', async (chunk: Buffer) => {
      buffered += chunk.toString()
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        buffered = buffered.slice(end + 1)
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
        sizes.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024)
        if (sizes.length === rounds) child.kill('SIGINT')
      }
    })
    child.on('close', () => resolve())
  })
  return sizes.slice(0, rounds)
}

try {
  const checks: [string, boolean][] = []
  console.log(`machine: ${process.env.BENCH_NOTE ?? 'shared, loaded'}; scale ${scale}; HTTP answering after ${DELAY_MS} ms on ${HOSTS.length} loopback addresses; --workers ${WORKERS}; best of ${TURNS} interleaved turns`)
  if (runs('throughput')) {
    // The host's speed drifts from minute to minute: TURNS interleaved turns (3 by default), the best time of each
    // contender counts, and the largest peak RSS.
    const sizes = [[n(2000), false], [n(20_000), true]] as const
    const files = await Promise.all(sizes.map(([count, mixed]) => targets(count, mixed)))
    const best: Awaited<ReturnType<typeof round>>[] = []
    for (let turn = 0; turn < TURNS; turn++) {
      for (const [i, [count, mixed]] of sizes.entries()) {
        const r = await round(files[i]!, count, mixed)
        const kept = best[i]
        best[i] = kept
          ? {
              ...kept,
              floorMs: Math.min(kept.floorMs, r.floorMs),
              fanoutMs: Math.min(kept.fanoutMs, r.fanoutMs),
              fanoutWallMs: Math.min(kept.fanoutWallMs, r.fanoutWallMs),
              curlMs: r.curlMs === undefined || kept.curlMs === undefined ? kept.curlMs : Math.min(kept.curlMs, r.curlMs),
              peakRssMb: Math.max(kept.peakRssMb, r.peakRssMb),
            }
          : r
      }
    }
    const rows = best
    console.log(
      renderTable(
        ['checks', 'kind', 'floor', 'fanout', 'fanout/floor', 'curl --parallel', 'curl/floor', 'fanout process wall', 'peak RSS MB'],
        rows.map((r) => [
          String(r.count),
          r.mixed ? 'HTTP/TCP/DNS' : 'HTTP',
          `${(r.floorMs / 1000).toFixed(2)} s`,
          `${(r.fanoutMs / 1000).toFixed(2)} s`,
          `${(r.fanoutMs / r.floorMs).toFixed(2)}x`,
          r.curlMs === undefined ? '-' : `${(r.curlMs / 1000).toFixed(2)} s`,
          r.curlMs === undefined ? '-' : `${(r.curlMs / r.floorMs).toFixed(2)}x`,
          `${(r.fanoutWallMs / 1000).toFixed(2)} s`,
          r.peakRssMb.toFixed(0),
        ]),
      ),
    )
    const [http, mixed] = rows as [(typeof rows)[0], (typeof rows)[0]]
    checks.push(
      [`${http.count} HTTP checks within 1.1x of the floor: ${(http.fanoutMs / http.floorMs).toFixed(2)}x`, http.fanoutMs <= 1.1 * http.floorMs],
      [`${mixed.count} mixed checks within 1.1x of the floor: ${(mixed.fanoutMs / mixed.floorMs).toFixed(2)}x`, mixed.fanoutMs <= 1.1 * mixed.floorMs],
      [`${mixed.count} mixed checks: peak RSS ${mixed.peakRssMb.toFixed(0)} MB, at most 300 MB`, mixed.peakRssMb <= 300],
    )
  }
  if (runs('watch')) {
    const watchCount = n(5000)
    const watchRounds = scale < 1 ? 3 : 10
    const sizes = await watchRss(watchCount, watchRounds)
    console.log(`--watch over ${watchCount} checks, RSS after each of ${sizes.length} rounds (MB): ${sizes.map((mb) => mb.toFixed(0)).join(' ')}`)
    checks.push([`--watch RSS flat: last round ${(sizes.at(-1)! / sizes[0]!).toFixed(2)}x the first, at most 1.1x`, sizes.at(-1)! <= 1.1 * sizes[0]!])
  }
  for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
} finally {
  await backends.close()
  tcp.close()
  dns.close()
}
