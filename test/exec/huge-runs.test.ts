import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {execEnvelope, renderExecReport} from '../../src/exec/report.js'
import type {ExecResult} from '../../src/exec/report.js'
import {fanout, until} from '../helpers/cli.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

/** `count` results as exec reports them, every 1,000th failed with three lines of stderr. */
function results(count: number): ExecResult[] {
  return Array.from({length: count}, (_, i) => {
    const failed = i % 1000 === 999
    return {
      target: `tenant-${i}`,
      status: failed ? 'failed' : 'succeeded',
      attempts: 1,
      durationMs: 12.5,
      exitCode: failed ? 1 : 0,
      signal: null,
      stdout: [],
      stderr: failed ? ['one', 'two', 'three'] : [],
      ...(failed ? {error: {code: 'exit', message: 'exited with 1'}} : {}),
    } satisfies ExecResult
  })
}

const pipe = {isTTY: false} as NodeJS.WriteStream

describe('exec reports of huge runs', () => {
  it('draws 100,000 targets in linear time, every row with --all, failures first', () => {
    // Linear: ten times the rows take about ten times as long (cli-table3 took ~100x: 43 s for 20,000 rows). The
    // best of three of each, so that a busy machine does not decide; the 2 s figure itself is bench:exec's.
    const time = (count: number) => {
      const report = execEnvelope(results(count), 60_000, false)
      let best = Infinity
      let text = ''
      for (let run = 0; run < 3; run++) {
        const started = performance.now()
        text = renderExecReport(report, {all: true}, pipe)
        best = Math.min(best, performance.now() - started)
      }
      return {best, text}
    }
    const small = time(10_000)
    const {best, text} = time(100_000)
    expect(best / small.best).toBeLessThan(25)
    expect(best).toBeLessThan(10_000)
    const lines = text.split('\n')
    // A header, 99,900 one-line rows, 100 failures of four lines (three of stderr, the reason), the counts.
    expect(lines).toHaveLength(1 + 99_900 + 100 * 4 + 1)
    expect(lines[1]).toMatch(/^tenant-999\s+failed\s+1\s+1\s+13ms\s+one$/)
    expect(lines.at(-1)).toBe('100000 targets: 99900 succeeded, 100 failed, 0 cancelled in 1m')
  })

  it('without --all lists every failure and caps the rest, saying how many it left out', () => {
    const text = renderExecReport(execEnvelope(results(100_000), 60_000, false), {}, pipe)
    expect(text.match(/failed {2}/g)).toHaveLength(100)
    expect(text.match(/succeeded {2}/g)).toBeNull() // 100 failures already fill the list
    expect(text).toContain('(99900 more not listed, none failed: --all lists every target, --json gives all)')
    const few = renderExecReport(execEnvelope(results(1500), 1000, false), {}, pipe)
    expect(few.match(/^tenant-\d+ +succeeded/gm)).toHaveLength(49)
  })

  it('fanout exec --all lists every target; without it the successes past 50 are counted, not listed', async () => {
    const targets = Array.from({length: 80}, (_, i) => ['-t', `t${i}`]).flat()
    const capped = await fanout(['exec', ...targets, '-w', '8', '--', 'true'])
    expect(capped.stdout.match(/^t\d+ +succeeded/gm)).toHaveLength(50)
    expect(capped.stdout).toContain('(30 more not listed')
    const all = await fanout(['exec', ...targets, '-w', '8', '--all', '--', 'true'])
    expect(all.stdout.match(/^t\d+ +succeeded/gm)).toHaveLength(80)
  })

  it('a second Ctrl-C exits at once, while the first is still waiting for commands to stop', async () => {
    // Children that ignore SIGTERM: after the first Ctrl-C fanout waits --kill-after (30 s) before SIGKILL.
    const child = spawn(process.execPath, [BIN, 'exec', '-t', 'a', '-t', 'b', '--kill-after', '30s', '--', 'sh', '-c', 'trap "" TERM; echo started; sleep 60 & wait'])
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    await until(() => stdout.length > 0 || stderr.includes('done'), 20_000).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 1500)) // the commands are running
    child.kill('SIGINT')
    await until(() => stderr.includes('stopping'), 10_000)
    const second = performance.now()
    child.kill('SIGINT')
    expect(await closed).toBe(130)
    expect(performance.now() - second).toBeLessThan(3000)
    expect(stderr).toMatch(/SIGINT again, exiting now/)
  })
})
