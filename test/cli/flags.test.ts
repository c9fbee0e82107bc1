import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'

const TOO_LONG = /at most 596h \(24\.8 days: the longest timer Node can set\); got "(1\/)?1000h"/

describe('flag values, the same rules in every command', () => {
  it('refuses durations past Node\'s timer limit (they would fire at once) with exit 2 and one line, before any work', async () => {
    const runs = await Promise.all([
      fanout(['exec', '--timeout', '1000h', '-t', 'a', '--', 'true']),
      fanout(['exec', '--kill-after', '1000h', '-t', 'a', '--', 'true']),
      fanout(['exec', '--rate', '1/1000h', '-t', 'a', '--', 'true']),
      fanout(['loadtest', 'http://127.0.0.1:1/', '-d', '1000h']),
    ])
    for (const [run, flag] of runs.map((run, index) => [run, ['--timeout', '--kill-after', '--rate', '--duration'][index]] as const)) {
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain(`${flag} expects`)
      expect(run.stderr).toMatch(TOO_LONG)
      expect(run.stdout).toBe('')
    }
    // The longest timer Node sets is still taken.
    expect((await fanout(['exec', '--timeout', '596h', '-t', 'a', '--', 'true'])).code).toBe(0)
  })

  it('takes counts like 10k for --workers in every command, as the README says', async () => {
    const exec = await fanout(['exec', '-w', '10k', '-t', 'a', '--', 'true'])
    expect(exec.code, exec.stderr).toBe(0)
    // Past flag parsing, each fails on the next input it checks: the count was taken.
    const migrate = await fanout(['migrate', '-w', '10k', '--dir', 'no-such-dir', '-n', 'a'])
    expect(migrate.stderr).toMatch(/--dir: cannot read "no-such-dir"/)
    const loadtest = await fanout(['loadtest', '-w', '2k', '--threads', '1', '--pipelining', '1', '-R', '1k', '--threshold', 'nonsense', 'http://127.0.0.1:1/'])
    expect(loadtest.stderr).toMatch(/--threshold/)
    expect((await fanout(['loadtest', '-w', '1.5', 'http://127.0.0.1:1/'])).stderr).toMatch(/--workers expects a whole number like 8, 500 or 10k; got "1\.5"/)
  })
})
