/**
 * `npm run bench:startup`: start-up time, hyperfine-style (warm-up runs, then runs interleaved so that a busy machine
 * slows every contender alike; mean ± σ and the median): `fanout --version` against `node -e ""` (goal ≤ 2x) and
 * `fanout exec --target a -- true` (goal ≤ 3x), with the oclif manifest a package ships (made here, removed after).
 * RUNS=N sets the runs per command (default 20).
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {renderTable} from '../src/report/table.js'
import {BIN, withManifest} from './fanout-process.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const RUNS = Number(process.env.RUNS ?? 20)
const contenders: [string, string[]][] = [
  ['node -e ""', ['-e', '']],
  ['fanout --version', [BIN, '--version']],
  ['fanout exec --target a -- true', [BIN, 'exec', '--target', 'a', '--', 'true']],
]

const times: number[][] = contenders.map(() => [])
await withManifest(() => {
  for (let run = -3; run < RUNS; run++) {
    contenders.forEach(([name, args], index) => {
      const started = performance.now()
      const result = spawnSync(process.execPath, args, {cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe']})
      const ms = performance.now() - started
      if (result.status !== 0) throw new Error(`${name} exited ${result.status}: ${result.stderr}`)
      if (run >= 0) times[index]!.push(ms) // the first three are warm-up
    })
  }
})

const stats = times.map((samples) => {
  const mean = samples.reduce((sum, ms) => sum + ms, 0) / samples.length
  const sd = Math.sqrt(samples.reduce((sum, ms) => sum + (ms - mean) ** 2, 0) / Math.max(1, samples.length - 1))
  const median = [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!
  return {mean, sd, median}
})
const floor = stats[0]!.median
const goals = ['', '≤ 2x', '≤ 3x']
console.log(
  renderTable(
    ['command', 'mean ± σ ms', 'median ms', 'vs node -e ""', 'goal'],
    contenders.map(([name], index) => {
      const {mean, median, sd} = stats[index]!
      return [name, `${mean.toFixed(1)} ± ${sd.toFixed(1)}`, median.toFixed(1), `${(median / floor).toFixed(2)}x`, goals[index]!]
    }),
  ),
)
console.log(`${RUNS} runs each after 3 warm-up runs, interleaved; ratios of medians`)
