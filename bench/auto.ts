/**
 * `npm run bench:auto` (`-- --quick` for a small size, `-- --only migrate|exec|healthcheck` for one section): `--workers auto` against the fixed sizes
 * a user might guess, on three kinds of work, each in one run of the built CLI:
 * - migrate 1,000 namespaces × 5 migrations on the real PostgreSQL (a fresh database per contender): fixed 1, 2, 4,
 *   8, 16, 32, 64 and auto (1–128, from 8); auto within 1.1x of the best fixed and at least 1.5x faster than the
 *   worst;
 * - exec of `curl -f` on 2,000 targets against a local service with 8 slots (503 beyond, exit 22, declared with
 *   --overload-exit-codes and retried): fixed 2, 4, 8, 16, 32 and auto; auto within 1.15x of the best fixed, with
 *   fewer than 1% of its targets seeing a 503;
 * - healthcheck of 5,000 local backends that answer after 100 ms: fixed 64, 256, 1024, 4096 and auto (1–1024,
 *   from 64); auto within 1.2x of the best fixed.
 * Wall times are the runs' own (the report's durationMs), not the process's start-up. Each section runs all its
 * contenders in turn, TURNS=N times (default 2), and each contender keeps its best run: a machine shared with
 * other work slows one run, not a contender.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import pg from 'pg'

import {renderTable} from '../src/report/table.js'
import {runFanout} from './fanout-process.js'
import {onlyPart} from './only-part.js'

// Imported by URL: the compiled bench runs from dist/bench, the fixtures stay where they are.
const {startBackends} = (await import(new URL('../../fixtures/servers/backends.mjs', import.meta.url).href)) as typeof import('../fixtures/servers/backends.mjs')
const {startSlotService} = (await import(new URL('../../fixtures/servers/slots.mjs', import.meta.url).href)) as typeof import('../fixtures/servers/slots.mjs')

const {values} = parseArgs({options: {quick: {type: 'boolean', default: false}, only: {type: 'string'}}})
const QUICK = values.quick
const runs = onlyPart(['migrate', 'exec', 'healthcheck'], values.only)
const SIZE = QUICK ? {namespaces: 100, targets: 300, backends: 1000} : {namespaces: 1000, targets: 2000, backends: 5000}
const TURNS = Number(process.env.TURNS ?? 2)
const SERVER = process.env.FANOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const MIGRATIONS = fileURLToPath(new URL('../../fixtures/migrations', import.meta.url))
const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-auto-'))

interface Contender {
  workers: string
  ms: number
  /** What auto settled at, or a count of overload answers: whatever the section reports beside the time. */
  note: string
}

async function lines(name: string, items: string[]): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, `${items.join('\n')}\n`)
  return file
}

/** One run of the CLI: its report, or an error naming the contender when it did not do all the work. */
async function run(args: string[], expected: number) {
  // Before any `--`: what follows it is exec's command.
  const ran = await runFanout([args[0]!, '--json', '--quiet', ...args.slice(1)])
  const report = JSON.parse(ran.stdout)
  if (report.summary.succeeded !== expected) {
    const failed = (report.results as {status: string; error?: unknown}[]).find((result) => result.status === 'failed')
    throw new Error(`${args.join(' ')}: exit ${ran.code}, ${JSON.stringify(report.summary)}; the first failure: ${JSON.stringify(failed)}`)
  }
  return report as {summary: {durationMs: number}; workers?: {settled: number; range: [number, number]}; results: {attempts: number}[]}
}

const settledNote = (report: Awaited<ReturnType<typeof run>>) =>
  report.workers ? `${report.workers.range[0]}–${report.workers.range[1]}, settled at ${report.workers.settled}` : ''

async function migrate(): Promise<Contender[]> {
  const admin = new pg.Client(SERVER)
  await admin.connect()
  const created: string[] = []
  const namespaces = await lines('namespaces.txt', Array.from({length: SIZE.namespaces}, (_, i) => `tenant_${i + 1}`))
  try {
    const contenders: Contender[] = []
    for (const workers of ['1', '2', '4', '8', '16', '32', '64', 'auto']) {
      const name = `fanout_bench_auto_${process.pid}_${created.length}`
      await admin.query(`CREATE DATABASE ${name}`)
      created.push(name)
      const url = new URL(SERVER)
      url.pathname = `/${name}`
      const report = await run(['migrate', '--database', url.toString(), '--dir', MIGRATIONS, '--namespaces-file', namespaces, '--create-namespaces', '-w', workers], SIZE.namespaces)
      contenders.push({workers, ms: report.summary.durationMs, note: settledNote(report)})
      await admin.query('CHECKPOINT')
    }
    return contenders
  } finally {
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}

async function exec(): Promise<Contender[]> {
  const service = await startSlotService({slots: 8, holdMs: 50})
  try {
    const targets = await lines('targets.txt', Array.from({length: SIZE.targets}, (_, i) => `http://127.0.0.1:${service.port}/${i}`))
    const contenders: Contender[] = []
    for (const workers of ['2', '4', '8', '16', '32', 'auto']) {
      const report = await run(['exec', '--targets', targets, '-w', workers, '--keep-going', '--retries', '20', '--overload-exit-codes', '22', '--', 'curl', '-sf', '-o', '/dev/null', '{}'], SIZE.targets)
      const refused = report.results.filter((result) => result.attempts > 1).length
      const note = `${((100 * refused) / SIZE.targets).toFixed(1)}% saw a 503${report.workers ? `; ${settledNote(report)}` : ''}`
      contenders.push({workers, ms: report.summary.durationMs, note})
    }
    return contenders
  } finally {
    await service.close()
  }
}

async function healthcheck(): Promise<Contender[]> {
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']
  const backends = await startBackends({hosts, delayMs: 100})
  try {
    const urls = await lines('urls.txt', Array.from({length: SIZE.backends}, (_, i) => `http://${hosts[i % hosts.length]}:${backends.port}/health?backend=${i}`))
    const contenders: Contender[] = []
    for (const workers of ['64', '256', '1024', '4096', 'auto']) {
      const report = await run(['healthcheck', '--file', urls, '-w', workers], SIZE.backends)
      contenders.push({workers, ms: report.summary.durationMs, note: settledNote(report)})
    }
    return contenders
  } finally {
    await backends.close()
  }
}

/** A section's contenders over TURNS interleaved turns, each with its best run (and what that run noted). */
async function bestOf(section: () => Promise<Contender[]>): Promise<Contender[]> {
  const best = new Map<string, Contender>()
  for (let turn = 0; turn < TURNS; turn++) {
    for (const contender of await section()) {
      const kept = best.get(contender.workers)
      if (!kept || contender.ms < kept.ms) best.set(contender.workers, contender)
    }
  }
  return [...best.values()]
}

/** The table of one section and its closing checks: auto against the best (and worst) fixed size. */
function conclude(title: string, contenders: Contender[], bestWithin: number, worstBy?: number, extra: [string, boolean][] = []): [string, boolean][] {
  const fixed = contenders.filter((contender) => contender.workers !== 'auto')
  const auto = contenders.find((contender) => contender.workers === 'auto')!
  const best = fixed.reduce((a, b) => (a.ms <= b.ms ? a : b))
  const worst = fixed.reduce((a, b) => (a.ms >= b.ms ? a : b))
  console.log(`\n${title}`)
  console.log(renderTable(['--workers', 'run ms', 'vs best fixed', ''], contenders.map((c) => [c.workers, c.ms.toFixed(0), `${(c.ms / best.ms).toFixed(2)}x`, c.note])))
  const checks: [string, boolean][] = [[`auto within ${bestWithin}x of the best fixed (-w ${best.workers}): ${(auto.ms / best.ms).toFixed(2)}x`, auto.ms <= bestWithin * best.ms]]
  if (worstBy) checks.push([`auto at least ${worstBy}x faster than the worst fixed (-w ${worst.workers}): ${(worst.ms / auto.ms).toFixed(2)}x`, worst.ms >= worstBy * auto.ms])
  return [...checks, ...extra]
}

const checks: [string, boolean][] = []
console.log(`bench:auto${QUICK ? ' --quick' : ''}: ${SIZE.namespaces} namespaces × 5 migrations, ${SIZE.targets} exec targets, ${SIZE.backends} health backends; best of ${TURNS} interleaved turns`)
if (runs('migrate')) checks.push(...conclude(`migrate, ${SIZE.namespaces} namespaces × 5 migrations on PostgreSQL`, await bestOf(migrate), 1.1, 1.5))
if (runs('exec')) {
  const executed = await bestOf(exec)
  const autoExec = executed.find((contender) => contender.workers === 'auto')!
  const overloadShare = Number(/^([\d.]+)%/.exec(autoExec.note)![1])
  checks.push(...conclude(`exec curl -f, ${SIZE.targets} targets, a service with 8 slots (503 beyond)`, executed, 1.15, undefined, [[`auto: ${overloadShare}% of targets saw a 503, under 1%`, overloadShare < 1]]))
}
if (runs('healthcheck')) checks.push(...conclude(`healthcheck, ${SIZE.backends} backends answering after 100 ms`, await bestOf(healthcheck), 1.2))
console.log('')
for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
