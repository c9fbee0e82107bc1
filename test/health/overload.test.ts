import {mkdtemp, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'

describe('healthcheck: the checker\'s own overload is not the backend\'s verdict', () => {
  it('EMFILE under a low ulimit -n: marked local and overload, the auto limit halves, the retries get through', async () => {
    const server = createServer((_request, response) => void setTimeout(() => response.end('ok'), 100))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    const dir = await mkdtemp(join(tmpdir(), 'fanout-emfile-'))
    const urls = join(dir, 'urls.txt')
    await writeFile(urls, Array.from({length: 300}, (_, i) => `http://127.0.0.1:${port}/${i}`).join('\n'))
    try {
      // 80 descriptors: Node and fanout take a few dozen, so 64 connections at once cannot all be opened (at 64,
      // oclif's start-up, which opens many files at once, now and then ran out before any check).
      const run = (workers: string, retries: string) =>
        fanout(['healthcheck', '--file', urls, '-w', workers, '--retries', retries, '--retry-delay', '100ms', '--json'], {fileLimit: 80})
      const fixed = parseJsonDocument((await run('80', '0')).stdout)
      const local = fixed.results.filter((result: {error?: {code: string}}) => result.error?.code === 'local')
      expect(local.length).toBeGreaterThan(0)
      expect(local[0].error.message).toContain('the checker ran out of file descriptors (EMFILE)')
      const auto = await run('auto:4-80', '8')
      const report = parseJsonDocument(auto.stdout)
      expect(report.summary, auto.stderr).toMatchObject({succeeded: 300, failed: 0})
      expect(report.workers.samples[0]).toEqual({atMs: 0, limit: 64})
      expect(report.workers.samples[1].limit).toBe(32)
      expect(report.workers.settled).toBeLessThan(64)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  }, 60_000)
})
