/**
 * `npm run bench:exec`: fanout exec over N `true` commands (default 20,000; N=… to change) at -w 16, report
 * included, against the floor for Node — a bare loop keeping 16 `true` children running with piped output — with
 * `xargs -P16` and GNU parallel (-j16) beside it where installed; then the report of 100,000 targets drawn alone.
 * fanout runs as a package ships it, with the oclif manifest (see withManifest); TURNS=N sets the interleaved turns.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {execEnvelope, renderExecReport} from '../src/exec/report.js'
import type {ExecResult} from '../src/exec/report.js'
import {renderTable} from '../src/report/table.js'
import {runFanout, runProcess, withManifest} from './fanout-process.js'

const N = Number(process.env.N ?? 20_000)
const WORKERS = 16
const TURNS = Number(process.env.TURNS ?? 3)
const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-exec-'))
const targets = join(dir, 'targets.txt')
await writeFile(targets, `${Array.from({length: N}, (_, i) => `t${i}`).join('\n')}\n`)

/** The floor: WORKERS lanes, each spawning `true` with piped stdout/stderr (as exec captures) until N have run. */
async function bareLoop(): Promise<number> {
  const started = performance.now()
  let next = 0
  const lane = async () => {
    while (next < N) {
      next++
      await new Promise<void>((resolve, reject) => {
        const child = spawn('true', [], {stdio: ['ignore', 'pipe', 'pipe']})
        child.stdout.resume()
        child.stderr.resume()
        child.on('error', reject)
        child.on('close', () => resolve())
      })
    }
  }
  await Promise.all(Array.from({length: WORKERS}, lane))
  return performance.now() - started
}

const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0
const runExec = async () => {
  const run = await runFanout(['exec', '--targets', targets, '-w', String(WORKERS), '--keep-going', '-q', '--', 'true'])
  if (run.code !== 0) throw new Error(`fanout exec exited ${run.code}`)
  return run.wallMs
}
// The floor and fanout take turns (TURNS=N, default 3) and each keeps its best: a machine busy with other work slows
// both alike, and a burst of it during one turn does not decide the ratio.
let floorMs = Number.POSITIVE_INFINITY
let fanoutMs = Number.POSITIVE_INFINITY
await withManifest(async () => {
  for (let turn = 0; turn < TURNS; turn++) {
    floorMs = Math.min(floorMs, await bareLoop())
    fanoutMs = Math.min(fanoutMs, await runExec())
  }
})
const rows: string[][] = []
const add = (name: string, ms: number) => rows.push([name, `${(ms / 1000).toFixed(2)} s`, `${((ms * 1000) / N).toFixed(0)} µs`, `${(ms / floorMs).toFixed(2)}x`])
add('bare Node spawn loop (floor)', floorMs)
add(`fanout exec -w ${WORKERS} (report included)`, fanoutMs)
if (has('xargs')) add(`xargs -P${WORKERS}`, (await runProcess('sh', ['-c', `xargs -P${WORKERS} -n1 true < ${targets}`])).wallMs)
if (has('parallel')) add(`GNU parallel -j${WORKERS}`, (await runProcess('sh', ['-c', `parallel -j${WORKERS} true {} < ${targets}`])).wallMs)
console.log(renderTable(['contender', 'wall', 'per target', 'vs floor'], rows))
console.log(`${N} targets, best of ${TURNS} interleaved turns for the floor and fanout; goal: fanout within 1.15x of the floor`)

const results: ExecResult[] = Array.from({length: 100_000}, (_, i) => ({target: `t${i}`, status: 'succeeded', attempts: 1, durationMs: 1.5, exitCode: 0, signal: null, stdout: [], stderr: []}))
const report = execEnvelope(results, 60_000, false)
const started = performance.now()
renderExecReport(report, {all: true}, {isTTY: false} as NodeJS.WriteStream)
console.log(`report of 100,000 targets (--all) drawn in ${Math.round(performance.now() - started)} ms; goal ≤ 2000 ms`)
