// `vitest run` with its arguments, and one second chance for a test file whose worker process died under it.
//
// vitest 4's forks pool now and then loses a worker on a loaded two-core machine and says only "Worker exited
// unexpectedly": the file it ran is dropped from the counts (its tests stay pending) and the run exits 1 with every
// test that ran green (vitest#10964 and the issues around it; vitest 5 reports the exit properly but needs Node 22).
// Such a run is not a verdict on the code. When the worker deaths are the run's only errors, the files they took
// down run once more, alone, and that run decides; a failing test, any other unhandled error, or a second death
// fails as before. test/helpers/worker-exit.ts names the file and the cause of a death when the worker can tell.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const WORKER_DIED = /Worker exited unexpectedly/g
const CAUGHT = /Vitest caught (\d+) unhandled errors?/

const given = process.argv.slice(2)
const own = mkdtempSync(join(tmpdir(), 'fanout-vitest-'))
// This script's own reports (a report asked for with --outputFile.json is written where asked, never in here).
process.on('exit', () => rmSync(own, {recursive: true, force: true}))
const jsonFlag = given.find((arg) => arg.startsWith('--outputFile.json='))
const reportPath = jsonFlag ? jsonFlag.slice('--outputFile.json='.length) : join(own, 'first.json')
const reporters = given.some((arg) => arg.startsWith('--reporter')) ? [] : ['--reporter=default']
if (!given.includes('--reporter=json')) reporters.push('--reporter=json')
const first = [...given.filter((arg) => arg !== jsonFlag), ...reporters, `--outputFile.json=${reportPath}`]

/** Runs vitest, its output passed through as it comes and kept (without colours) to be read afterwards. */
function vitest(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../node_modules/vitest/vitest.mjs'), 'run', ...args], {stdio: ['inherit', 'pipe', 'pipe']})
    let said = ''
    for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      from.on('data', (chunk) => {
        to.write(chunk)
        said += chunk.toString().replace(/\u001b\[[\d;]*m/g, '')
      })
    }
    child.on('close', (code, signal) => resolve({code: code ?? (signal ? 1 : 0), said}))
  })
}

const ran = await vitest(first)
if (ran.code === 0) process.exit(0)
const deaths = ran.said.match(WORKER_DIED)?.length ?? 0
const caught = Number(CAUGHT.exec(ran.said)?.[1] ?? 0)
if (!existsSync(reportPath)) process.exit(ran.code) // vitest stopped before any report: its own message says why
const report = JSON.parse(readFileSync(reportPath, 'utf8'))
const dropped = report.testResults.filter((file) => file.assertionResults.some((test) => test.status === 'pending')).map((file) => file.name)
if (deaths === 0 || deaths !== caught || report.numFailedTests > 0 || dropped.length === 0) process.exit(ran.code)

process.stderr.write(`\nvitest-run: ${deaths} test worker(s) died (the run's only errors; no test failed); running once more: ${dropped.join(' ')}\n`)
const againPath = join(own, 'again.json')
// The same options (reporters included), without the first run's file filters and report file.
const options = first.filter((arg) => arg.startsWith('--') && !arg.startsWith('--outputFile.json='))
const again = await vitest([...dropped, ...options, `--outputFile.json=${againPath}`])
// One report of the whole suite, as if it had run once: the second run's files in place of the dropped ones.
const second = JSON.parse(readFileSync(againPath, 'utf8'))
const byName = new Map(second.testResults.map((file) => [file.name, file]))
report.testResults = report.testResults.map((file) => byName.get(file.name) ?? file)
const tests = report.testResults.flatMap((file) => file.assertionResults)
const count = (status) => tests.filter((test) => test.status === status).length
Object.assign(report, {numPassedTests: count('passed'), numFailedTests: count('failed'), numPendingTests: count('pending'), success: again.code === 0})
writeFileSync(reportPath, JSON.stringify(report))
process.exit(again.code)
