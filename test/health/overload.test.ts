import {mkdtemp, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'

describe('healthcheck: the checker\'s own overload is not the backend\'s verdict', () => {
  it('EMFILE under a low ulimit -n: marked local and overload; with auto the limit halves and such tries are made again beyond --retries, so every check gets through and says it retried', async () => {
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
      const auto = await run('auto:4-80', '0')
      const report = parseJsonDocument(auto.stdout)
      expect(report.summary, auto.stderr).toMatchObject({succeeded: 300, failed: 0})
      const retried = report.results.filter((result: {attempts: number}) => result.attempts > 1)
      expect(retried.length).toBeGreaterThan(0)
      expect(retried.every((result: {tries: {error: {code: string}}[]}) => result.tries.every((tried) => tried.error.code === 'local'))).toBe(true)
      expect(report.workers.samples[0]).toEqual({atMs: 0, limit: 64})
      expect(report.workers.samples[1].limit).toBe(32)
      expect(report.workers.settled).toBeLessThan(64)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  }, 60_000)

  describe('its own connect queueing: a saturated event loop is overload, a slow or down backend is not', () => {
    const listen = async (server: Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return (server.address() as AddressInfo).port
    }
    const urlsFile = async (name: string, port: number, count: number, path = '/') => {
      const dir = await mkdtemp(join(tmpdir(), `fanout-queue-${name}-`))
      const file = join(dir, 'urls.txt')
      await writeFile(file, Array.from({length: count}, (_, i) => `http://127.0.0.1:${port}${path}?check=${i}`).join('\n'))
      return file
    }
    const check = async (file: string, workers: string, conditions: string[] = []) => {
      const ran = await fanout(['healthcheck', '--file', file, '-w', workers, '--timeout', '30s', '--json', ...conditions.flatMap((condition) => ['-C', condition])])
      return {report: parseJsonDocument(ran.stdout), stderr: ran.stderr}
    }

    it('saturated: answers at once with 128 KiB JSON bodies to parse keep the checker busy, so connects wait on its loop and the limit is cut', async () => {
      // The checker, not this server, must be the bottleneck even when another test file shares the two cores: the
      // server sends one prepared buffer (the kernel copies it), the checker reads and parses every answer.
      const body = Buffer.from(JSON.stringify({status: 'UP', items: Array.from({length: 3000}, (_, i) => ({id: i, name: `item ${i}`, ok: true}))}))
      expect(body.length).toBeGreaterThan(100 * 1024)
      const server = createServer((_request, response) => response.end(body))
      const file = await urlsFile('saturated', await listen(server), 2000)
      try {
        const {report, stderr} = await check(file, 'auto', ['[BODY].status == UP'])
        expect(report.summary, stderr).toMatchObject({succeeded: 2000, failed: 0})
        expect(report.workers.overloads, JSON.stringify(report.workers)).toBeGreaterThan(0)
        // A cut is a halving: some step of the path goes to half of the limit before it (or to the floor).
        const steps = report.workers.samples.slice(1).map((sample: {limit: number}, i: number) => [report.workers.samples[i].limit, sample.limit])
        expect(steps.some(([from, to]: number[]) => to === Math.max(1, Math.floor(from! / 2)))).toBe(true)
      } finally {
        await new Promise((resolve) => server.close(resolve))
      }
    }, 120_000)

    it('slow: a backend answering after 1 s leaves the loop idle while it waits, and gives no signal', async () => {
      const server = createServer((_request, response) => void setTimeout(() => response.end('ok'), 1000))
      // At most 16 a second: a checker that cannot keep up with that is no checker (on a machine loaded ~25 on 2 cores,
      // 64 a second did saturate it now and then, which is then a true signal).
      const file = await urlsFile('slow', await listen(server), 128)
      try {
        const {report, stderr} = await check(file, 'auto:1-16')
        expect(report.summary, stderr).toMatchObject({succeeded: 128, failed: 0})
        expect(report.workers.overloads, JSON.stringify(report.workers)).toBe(0)
      } finally {
        await new Promise((resolve) => server.close(resolve))
      }
    }, 120_000)

    it('down: refused connects never complete, so they give no signal (nor do the failures count as overload)', async () => {
      const server = createServer()
      const port = await listen(server)
      await new Promise((resolve) => server.close(resolve))
      const {report, stderr} = await check(await urlsFile('down', port, 1000), 'auto')
      expect(report.summary, stderr).toMatchObject({succeeded: 0, failed: 1000})
      expect(new Set(report.results.map((result: {error: {code: string}}) => result.error.code))).toEqual(new Set(['refused']))
      expect(report.workers.overloads, JSON.stringify(report.workers)).toBe(0)
    }, 120_000)
  })
})
