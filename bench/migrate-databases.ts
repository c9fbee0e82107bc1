/**
 * `npm run bench:migrate-databases` (bench/migrate.ts's companion for several databases): 4 databases × 250
 * namespaces × 5 migrations (fixtures/migrations) on the real PostgreSQL, three ways, each on fresh databases:
 * one `fanout migrate` over the 4 databases; 4 runs one after another, a database each (what a team does without
 * --database repeated), with 16 workers and again with 4 (the one run's bound per database); and one run over one
 * database of 1,000 namespaces (the same work in one place). The one run has 16 workers in all (--workers 16
 * --workers-per-database 4, one pool each), so against 16-worker runs the figures compare what the fleet costs,
 * not more connections: on one server of 2 cores the server is the bound, and only the process starts and the
 * tails of 4 runs are saved. The contenders take turns (best of three);
 * --quick: 4 × 50 namespaces, best of two.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import pg from 'pg'

import {renderTable} from '../src/report/table.js'
import {runFanout} from './fanout-process.js'

const SERVER = process.env.FANOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const QUICK = process.argv.includes('--quick')
const DATABASES = 4
const PER_DATABASE = QUICK ? 50 : 250
const TURNS = QUICK ? 2 : 3
const WORKERS = 16
const MIGRATIONS = fileURLToPath(new URL('../../fixtures/migrations', import.meta.url))
const MIGRATION_COUNT = 5

const work = await mkdtemp(join(tmpdir(), 'fanout-bench-databases-'))
const admin = new pg.Client(SERVER)
await admin.connect()

const names = (count: number) => Array.from({length: count}, (_, i) => `tenant_${String(i + 1).padStart(5, '0')}`)

/** Fresh databases, dropped only when the bench ends (a DROP of thousands of files slows the next contender's writes). */
const created: string[] = []
async function freshDatabases(count: number): Promise<string[]> {
  const urls: string[] = []
  for (let i = 0; i < count; i++) {
    const name = `fanout_bench_dbs_${process.pid}_${created.length}`
    await admin.query(`CREATE DATABASE ${name}`)
    created.push(name)
    const url = new URL(SERVER)
    url.pathname = `/${name}`
    urls.push(url.toString())
  }
  // Each contender starts on a settled server.
  await admin.query('CHECKPOINT')
  return urls
}

async function namespacesFile(count: number): Promise<string> {
  const file = join(work, `namespaces-${count}.txt`)
  await writeFile(file, `${names(count).join('\n')}\n`)
  return file
}

/** One fanout migrate process over `urls`, checked to have applied every migration: its wall time, start to exit. */
async function migrate(urls: string[], file: string, namespaces: number, extra: string[]): Promise<number> {
  const args = ['migrate', ...urls.flatMap((url) => ['--database', url]), '--dir', MIGRATIONS, '--namespaces-file', file, '--create-namespaces', '--json', '--quiet', ...extra]
  const run = await runFanout(args)
  const report = JSON.parse(run.stdout)
  const applied = report.results.reduce((sum: number, line: {applied?: string[]}) => sum + (line.applied?.length ?? 0), 0)
  if (run.code !== 0 || applied !== namespaces * urls.length * MIGRATION_COUNT) throw new Error(`fanout migrate over ${urls.length} databases: exit ${run.code}, ${applied} applied`)
  return run.wallMs
}

async function inSequence(workers: number): Promise<number> {
  const urls = await freshDatabases(DATABASES)
  const file = await namespacesFile(PER_DATABASE)
  let ms = 0
  for (const url of urls) ms += await migrate([url], file, PER_DATABASE, ['--workers', String(workers)])
  return ms
}

const contenders = {
  /** One run over the 4 databases. */
  async together() {
    const urls = await freshDatabases(DATABASES)
    return migrate(urls, await namespacesFile(PER_DATABASE), PER_DATABASE, ['--workers', String(WORKERS), '--workers-per-database', String(WORKERS / DATABASES)])
  },
  /** 4 runs in sequence, one database each, with all 16 workers. */
  inTurn: () => inSequence(WORKERS),
  /** 4 runs in sequence, one database each, each at the one run's bound per database (a database that takes 4). */
  inTurnBounded: () => inSequence(WORKERS / DATABASES),
  /** One run over one database of as many namespaces as the 4 hold. */
  async oneDatabase() {
    const urls = await freshDatabases(1)
    return migrate(urls, await namespacesFile(PER_DATABASE * DATABASES), PER_DATABASE * DATABASES, ['--workers', String(WORKERS)])
  },
}

try {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const load = loadavg()[0]!.toFixed(1)
  const times: Record<keyof typeof contenders, number[]> = {together: [], inTurn: [], inTurnBounded: [], oneDatabase: []}
  // The server's speed drifts from minute to minute: the contenders take turns, and the best of each counts.
  for (let turn = 0; turn < TURNS; turn++) {
    for (const name of Object.keys(contenders) as (keyof typeof contenders)[]) times[name].push(await contenders[name]())
  }
  const best = (name: keyof typeof contenders) => Math.min(...times[name])
  const [together, inTurn, inTurnBounded, oneDatabase] = [best('together'), best('inTurn'), best('inTurnBounded'), best('oneDatabase')]
  console.log(`${DATABASES} databases × ${PER_DATABASE} namespaces × ${MIGRATION_COUNT} migrations on ${new URL(SERVER).host}, ${WORKERS} workers in all; load average ${load} at the start, ${loadavg()[0]!.toFixed(1)} at the end`)
  console.log(`turns: one run ${times.together.map(seconds).join(', ')}; 4 runs in sequence ${times.inTurn.map(seconds).join(', ')}; 4 runs at ${WORKERS / DATABASES} workers ${times.inTurnBounded.map(seconds).join(', ')}; one database ${times.oneDatabase.map(seconds).join(', ')}`)
  console.log(
    renderTable(
      ['contender', 'best wall time', 'one run over 4 databases is'],
      [
        [`one run over ${DATABASES} databases (--workers ${WORKERS} --workers-per-database ${WORKERS / DATABASES})`, seconds(together), '-'],
        [`${DATABASES} runs in sequence, a database each (--workers ${WORKERS})`, seconds(inTurn), `${(inTurn / together).toFixed(2)}x faster`],
        [`${DATABASES} runs in sequence, a database each, at its bound (--workers ${WORKERS / DATABASES})`, seconds(inTurnBounded), `${(inTurnBounded / together).toFixed(2)}x faster`],
        [`one run over one database of ${PER_DATABASE * DATABASES} namespaces (--workers ${WORKERS})`, seconds(oneDatabase), `${(together / oneDatabase).toFixed(2)}x its time`],
      ],
    ),
  )
  const checks: [string, boolean][] = [
    [`one run at least 2.5x faster than ${DATABASES} runs in sequence: ${(inTurn / together).toFixed(2)}x (at the same bound per database: ${(inTurnBounded / together).toFixed(2)}x)`, inTurn >= 2.5 * together],
    [`one run within 1.3x of one database of ${PER_DATABASE * DATABASES} namespaces: ${(together / oneDatabase).toFixed(2)}x`, together <= 1.3 * oneDatabase],
  ]
  for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`)
} finally {
  for (const name of created) await admin.query(`DROP DATABASE ${name} WITH (FORCE)`)
  await admin.end()
  await rm(work, {recursive: true, force: true})
}
