import {writeFile, mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {startSlotService} from '../../fixtures/servers/slots.mjs'
import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {hasProgram} from '../helpers/system-program.js'

describe.runIf(hasProgram('curl', 'curl'))('exec --workers auto against a service with K slots (curl -f: 503 is exit 22)', () => {
  it('ends within 1.2x of the best fixed --workers, with no 503s once it has settled', async () => {
    const slots = 4
    const service = await startSlotService({slots, holdMs: 100})
    const dir = await mkdtemp(join(tmpdir(), 'fanout-auto-'))
    const targets = join(dir, 'targets.txt')
    await writeFile(targets, Array.from({length: 120}, (_, i) => `http://127.0.0.1:${service.port}/${i}`).join('\n'))
    const curl = ['--', 'curl', '-sf', '-o', '/dev/null', '{}']
    const common = ['exec', '--targets', targets, '--keep-going', '--retries', '6', '--overload-exit-codes', '22', '--json']
    try {
      const times = new Map<string, number>()
      for (const workers of [String(slots), String(2 * slots)]) {
        const run = await fanout([...common, '-w', workers, ...curl])
        expect(run.code, run.stderr).toBe(0)
        times.set(workers, parseJsonDocument(run.stdout).summary.durationMs)
      }
      service.refusals.length = 0
      const started = performance.now()
      const run = await fanout([...common, '-w', 'auto:1-16', ...curl])
      const ended = performance.now()
      expect(run.code, run.stderr).toBe(0)
      const report = parseJsonDocument(run.stdout)
      const best = Math.min(...times.values())
      expect(report.summary.durationMs, JSON.stringify({times: [...times], workers: report.workers})).toBeLessThanOrEqual(1.2 * best)
      expect(report.workers).toMatchObject({auto: true, min: 1, max: 16, initial: 8})
      expect(report.workers.settled).toBeLessThanOrEqual(slots)
      // It starts at 8 (exec's default) and is told off at once; after the first half of the run, never again.
      const settledAt = started + (ended - started) / 2
      expect(service.refusals.filter((at) => at > settledAt), JSON.stringify({started, ended, refusals: service.refusals, times: [...times], workers: report.workers})).toEqual([])
    } finally {
      await service.close()
    }
  }, 60_000)
})
