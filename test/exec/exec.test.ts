import {mkdtemp, readFile, readdir, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {describe, expect, it} from 'vitest'

import {ROOT, fanout, until} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'

const json = parseJsonDocument

describe('fanout exec, end to end through bin/run.js', () => {
  it('exits 0 when every target succeeds, with the shared JSON envelope in input order', async () => {
    const run = await fanout(['exec', '-t', 'a', '-t', 'b', '-t', 'c', '--json', '--', 'sh', '-c', 'echo "out {} $FANOUT_INDEX"; echo err-$FANOUT_TARGET >&2'])
    expect(run.code).toBe(0)
    const report = json(run.stdout)
    expect(report).toMatchObject({command: 'exec', ok: true, summary: {total: 3, succeeded: 3, failed: 0, cancelled: 0}})
    expect(report.summary.durationMs).toBeGreaterThan(0)
    expect(report.results.map((r: {target: string}) => r.target)).toEqual(['a', 'b', 'c'])
    expect(report.results[1]).toMatchObject({status: 'succeeded', attempts: 1, exitCode: 0, stdout: ['out b 1'], stderr: ['err-b']})
    expect(run.stderr).toBe('') // not a TTY and done within the first progress interval: nothing but the report
  })

  it('appends the target when the command has no {}, and reads targets from a file or stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-exec-'))
    const file = join(dir, 'targets.txt')
    await writeFile(file, '# namespaces\none\n\n  two  \n')
    const fromFile = json((await fanout(['exec', '--targets', file, '--json', '--', 'echo', 'ns'])).stdout)
    expect(fromFile.results.map((r: {stdout: string[]}) => r.stdout[0])).toEqual(['ns one', 'ns two'])
    const fromStdin = json((await fanout(['exec', '--targets', '-', '--json', '--', 'echo'], {input: 'x\ny\n'})).stdout)
    expect(fromStdin.results.map((r: {stdout: string[]}) => r.stdout[0])).toEqual(['x', 'y'])
  })

  it('fail-fast (default): exits 1, cancels targets not started and stops running ones', async () => {
    const targets = ['fail', 'slow1', 'slow2', ...Array.from({length: 10}, (_, i) => `q${i}`)]
    const script = 'if [ {} = fail ]; then sleep 0.2; echo "bad thing" >&2; exit 3; fi; sleep 20'
    const run = await fanout(['exec', ...targets.flatMap((t) => ['-t', t]), '-w', '3', '--json', '--', 'sh', '-c', script])
    expect(run.code).toBe(1)
    expect(run.ms).toBeLessThan(8000) // the 20 s sleeps were stopped
    const report = json(run.stdout)
    expect(report.ok).toBe(false)
    expect(report.summary).toMatchObject({total: 13, failed: 1, succeeded: 0, cancelled: 12})
    expect(report.results[0]).toMatchObject({target: 'fail', status: 'failed', exitCode: 3, stderr: ['bad thing'], error: {code: 'exit'}})
    expect(report.results[1]).toMatchObject({status: 'cancelled', attempts: 1, signal: 'SIGTERM'})
    for (const r of report.results.slice(3)) expect(r).toMatchObject({status: 'cancelled', attempts: 0, exitCode: null})
  })

  it('--stream prints each line as it comes, prefixed with its target (stderr under --json)', async () => {
    const script = 'printf "one\\ntwo" ; echo " err" >&2'
    const run = await fanout(['exec', '-t', 'a', '-t', 'b', '--stream', '--quiet', '--', 'sh', '-c', script])
    expect(run.code).toBe(0)
    const streamed = run.stdout.split('\n').filter((line) => line.includes(' | '))
    expect(streamed.sort()).toEqual(['a | one', 'a | two', 'b | one', 'b | two'])
    expect(run.stderr.split('\n').sort().filter(Boolean)).toEqual(['a |  err', 'b |  err'])
    const json = await fanout(['exec', '-t', 'a', '--stream', '--json', '--', 'sh', '-c', script])
    expect(parseJsonDocument(json.stdout).results[0].stdout).toEqual(['one', 'two'])
    expect(json.stderr.split('\n').filter(Boolean).sort()).toEqual(['a |  err', 'a | one', 'a | two'])
  })

  it('--keep-going runs every target and reports every failure', async () => {
    const run = await fanout(['exec', '-t', '1', '-t', '2', '-t', '3', '-t', '4', '--keep-going', '--json', '--', 'sh', '-c', 'exit $(( {} % 2 ))'])
    expect(run.code).toBe(1)
    const report = json(run.stdout)
    expect(report.results.map((r: {status: string}) => r.status)).toEqual(['failed', 'succeeded', 'failed', 'succeeded'])
  })

  it('the human report lists failures first with their last stderr lines', async () => {
    const run = await fanout(['exec', '-t', 'ok', '-t', 'bad', '--keep-going', '--', 'sh', '-c', '[ {} = ok ] || { echo "line one" >&2; echo "disk full" >&2; exit 4; }'])
    expect(run.code).toBe(1)
    const lines = run.stdout.split('\n')
    expect(lines[0]).toMatch(/^target\s+status\s+exit\s+tries\s+time\s+last stderr of failures/)
    expect(lines[1]).toMatch(/^bad\s+failed\s+4\s+1\s+\S+\s+line one/)
    expect(run.stdout).toContain('disk full')
    expect(run.stdout).toContain('2 targets: 1 succeeded, 1 failed, 0 cancelled')
  })

  it('--timeout stops a slow command and keeps its last stderr; --retries tries again', async () => {
    const timedOut = json((await fanout(['exec', '-t', 'x', '--timeout', '300ms', '--json', '--', 'sh', '-c', 'echo working >&2; sleep 10'])).stdout)
    expect(timedOut.results[0]).toMatchObject({status: 'failed', stderr: ['working'], error: {code: 'timeout'}})
    expect(timedOut.results[0].durationMs).toBeGreaterThanOrEqual(290)
    const dir = await mkdtemp(join(tmpdir(), 'fanout-retry-'))
    // Fails on the first try of each target, succeeds on the second.
    const script = `f=${dir}/{}; if [ -e $f ]; then echo second; else touch $f; exit 1; fi`
    const retried = await fanout(['exec', '-t', 'a', '-t', 'b', '--retries', '2', '--json', '--', 'sh', '-c', script])
    expect(retried.code).toBe(0)
    for (const r of json(retried.stdout).results) expect(r).toMatchObject({status: 'succeeded', attempts: 2, stdout: ['second']})
  })

  it('exits 2 with one line naming the input, before running anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-usage-'))
    const marker = `touch ${dir}/ran-{}`
    const cases: [string[], RegExp][] = [
      [['-w', '0', '-t', 'a'], /--workers expects .*at least 1; got "0"/],
      [['--timeout', '5x', '-t', 'a'], /--timeout expects a duration like 500ms, 5s, 2m or 1m30s; got "5x"/],
      [['--rate', 'fast', '-t', 'a'], /--rate expects a rate like 50\/s/],
      [['--targets', join(dir, 'missing.txt')], /--targets: cannot read ".*missing.txt" \(ENOENT\)/],
      [['--fail-fast', '--keep-going', '-t', 'a'], /cannot also be provided/],
      [['--nope', '-t', 'a'], /Nonexistent flag: --nope/],
      [[], /no targets/],
    ]
    for (const [args, message] of cases) {
      const run = await fanout(['exec', ...args, '--', 'sh', '-c', marker])
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(run.stderr, args.join(' ')).toMatch(message)
      expect(run.stdout).toBe('')
    }
    const missing = await fanout(['exec', '-t', 'a', '--', 'no-such-command-here', '{}'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/command "no-such-command-here" not found on PATH/)
    expect(await readdir(dir)).toEqual([])
  })

  it('Ctrl-C stops running commands, prints the partial report and exits 130', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-int-'))
    const script = `echo $$ > ${dir}/{}.tmp && mv ${dir}/{}.tmp ${dir}/{}.pid; sleep 30`
    const targets = ['a', 'b', 'c', 'd', 'e'].flatMap((t) => ['-t', t])
    const bothRunning = until(async () => (await readdir(dir)).filter((f) => f.endsWith('.pid')).length === 2)
    const run = await fanout(['exec', ...targets, '-w', '2', '--json', '--', 'sh', '-c', script], {interruptWhen: bothRunning})
    expect(run.code).toBe(130)
    expect(run.ms).toBeLessThan(10_000)
    expect(run.stderr).toMatch(/SIGINT: stopping; the partial report follows/)
    const report = json(run.stdout)
    expect(report).toMatchObject({ok: false, interrupted: true, summary: {total: 5, cancelled: 5}})
    const pids = await Promise.all((await readdir(dir)).map(async (f) => Number(await readFile(join(dir, f), 'utf8'))))
    expect(pids.length).toBe(2)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow() // the children are gone
  })

  it('runs in-process through oclif too (runCommand), with the same exit codes', async () => {
    const ok = await runCommand(['exec', '-t', 'x', '-q', '--', 'true'], {root: ROOT})
    expect(ok.error).toBeUndefined()
    const bad = await runCommand(['exec', '-t', 'x', '-w', 'lots', '--', 'true'], {root: ROOT})
    expect(bad.error?.oclif?.exit).toBe(2)
  })
})
