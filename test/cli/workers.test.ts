import {mkdtemp, readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/cli/errors.js'
import {parseWorkers} from '../../src/cli/values.js'
import {Progress} from '../../src/report/progress.js'
import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'

const targets = (n: number) => Array.from({length: n}, (_, i) => ['-t', `t${i}`]).flat()

describe('--workers N | auto | auto:MAX | auto:MIN-MAX', () => {
  it('reads a pool size or the bounds of an adaptive limit, and refuses the rest', () => {
    expect(parseWorkers('8')).toBe(8)
    expect(parseWorkers('1k')).toBe(1000)
    expect(parseWorkers('auto')).toEqual({auto: {}})
    expect(parseWorkers('auto:32')).toEqual({auto: {max: 32}})
    expect(parseWorkers('auto:4-32')).toEqual({auto: {min: 4, max: 32}})
    expect(parseWorkers(' auto:5-5 ')).toEqual({auto: {min: 5, max: 5}})
    for (const bad of ['0', '-1', 'auto:0', 'auto:9-3', 'auto:0-3', 'auto:', 'auto:x', 'automatic', '1.5', '']) {
      expect(() => parseWorkers(bad), bad).toThrow(UsageError)
    }
  })

  it('exec --workers auto: the report says where the limit settled and its range; --json carries its path', async () => {
    const text = await fanout(['exec', ...targets(40), '-w', 'auto:2-6', '--', 'true'])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/\nworkers: auto, (\d+–\d+|\d+), settled at \d+\n?$/)
    const run = await fanout(['exec', ...targets(40), '-w', 'auto:2-6', '--json', '--', 'true'])
    const report = parseJsonDocument(run.stdout)
    // auto:2-6 starts at exec's default (8) held within the bounds: 6.
    expect(report.workers).toMatchObject({auto: true, min: 2, max: 6, initial: 6})
    expect(report.workers.samples[0]).toEqual({atMs: 0, limit: 6})
    for (const {limit} of report.workers.samples) expect(limit >= 2 && limit <= 6).toBe(true)
    const [low, high] = report.workers.range
    expect(low).toBeGreaterThanOrEqual(2)
    expect(high).toBeLessThanOrEqual(6)
    const fixed = parseJsonDocument((await fanout(['exec', ...targets(3), '-w', '4', '--json', '--', 'true'])).stdout)
    expect(fixed.workers).toBeUndefined()
  })

  it('fanout_workers_limit: the pool size, or the adaptive limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-workers-'))
    const sample = (text: string) => Number(/^fanout_workers_limit\{command="exec"\} (\d+)$/m.exec(text)?.[1])
    await fanout(['exec', ...targets(3), '-w', '5', '--metrics-file', join(dir, 'fixed.prom'), '--', 'true'])
    expect(sample(await readFile(join(dir, 'fixed.prom'), 'utf8'))).toBe(5)
    const run = await fanout(['exec', ...targets(20), '-w', 'auto:3-7', '--json', '--metrics-file', join(dir, 'auto.prom'), '--', 'true'])
    expect(sample(await readFile(join(dir, 'auto.prom'), 'utf8'))).toBe(parseJsonDocument(run.stdout).workers.final)
  })

  it('the progress line shows the current limit', () => {
    const progress = new Progress('exec', 10, 'off')
    expect(progress.line()).not.toContain('workers')
    progress.workers = 6
    expect(progress.line()).toContain(' · workers 6 · ')
  })

  it('bad values exit 2 before any work; loadtest refuses auto, saying why', async () => {
    const exec = await fanout(['exec', '-t', 'a', '-w', 'auto:9-3', '--', 'true'])
    expect(exec.code).toBe(2)
    expect(exec.stderr).toContain('--workers expects auto, auto:MAX, auto:MIN-MAX (a limit that adapts while the run goes) or a whole number like 8, with 1 <= MIN <= MAX; got "auto:9-3"')
    const load = await fanout(['loadtest', 'http://127.0.0.1:9/', '-w', 'auto'])
    expect(load.code).toBe(2)
    expect(load.stderr).toContain('(not auto: here the workers are the load, not a capacity to find); got "auto"')
  })
})

describe('exec overload signals', () => {
  // Fails once with exit 75 and "Retry-After: 1" on stderr (a marker file says it already did), then succeeds.
  const flaky = (dir: string) => ['--', 'sh', '-c', `if [ ! -e ${dir}/{} ]; then touch ${dir}/{}; echo "Retry-After: 1" >&2; exit 75; fi`]

  it('--retry-after-from-stderr: a "Retry-After: N" line pauses starts for N s; without the flag it is only stderr', async () => {
    const asked = await mkdtemp(join(tmpdir(), 'fanout-ra-'))
    const honoured = await fanout(['exec', '-t', 'a', '--retries', '1', '--retry-after-from-stderr', '--json', ...flaky(asked)])
    expect(honoured.code, honoured.stderr).toBe(0)
    expect(parseJsonDocument(honoured.stdout).results[0]).toMatchObject({status: 'succeeded', attempts: 2})
    expect(parseJsonDocument(honoured.stdout).results[0].durationMs).toBeGreaterThanOrEqual(1000)
    const ignored = await fanout(['exec', '-t', 'a', '--retries', '1', '--json', ...flaky(await mkdtemp(join(tmpdir(), 'fanout-ra-')))])
    expect(parseJsonDocument(ignored.stdout).results[0]).toMatchObject({status: 'succeeded', attempts: 2})
    expect(parseJsonDocument(ignored.stdout).results[0].durationMs).toBeLessThan(900)
  })

  it('--overload-exit-codes: a listed exit code halves an auto limit; a bad list exits 2', async () => {
    const run = await fanout(['exec', '-t', 'a', '-t', 'b', '-t', 'c', '-t', 'd', '-w', 'auto:1-8', '--keep-going', '--overload-exit-codes', '75,22', '--json', '--', 'sh', '-c', `[ {} != a ] || exit 75; sleep 0.3`])
    const report = parseJsonDocument(run.stdout)
    expect(report.workers.samples.map((s: {limit: number}) => s.limit)).toEqual([8, 4])
    const unlisted = parseJsonDocument((await fanout(['exec', '-t', 'a', '-t', 'b', '-w', 'auto:1-8', '--keep-going', '--overload-exit-codes', '22', '--json', '--', 'sh', '-c', `[ {} != a ] || exit 75`])).stdout)
    expect(unlisted.workers.samples.map((s: {limit: number}) => s.limit)).toEqual([8])
    const bad = await fanout(['exec', '-t', 'a', '--overload-exit-codes', '75,x', '--', 'true'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--overload-exit-codes expects exit codes from 1 to 255, comma-separated, like 75 or 75,22; got "75,x"')
  })
})
