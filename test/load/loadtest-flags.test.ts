import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import {createServer as createH2cServer} from 'node:http2'
import type {IncomingHttpHeaders, Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'

// The flag-level edges of issue 13: each of these went wrong for a new user.
let server: Server
let url: string
const seen: IncomingHttpHeaders[] = []

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers)
    response.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as {port: number}).port}/`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('loadtest flags', () => {
  it('a repeatable flag before the URL takes one value and leaves the URL an argument (-H, --threshold)', async () => {
    seen.length = 0
    const run = await fanout(['loadtest', '-q', '-n', '5', '-H', 'X-A: 1', '-H', 'X-B: 2', '--threshold', 'p99<10s', url])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(seen).toHaveLength(5)
    expect(seen[0]).toMatchObject({'x-a': '1', 'x-b': '2'})
  })

  it('loadtest merge: --threshold before the files leaves them files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-flags-'))
    const file = join(dir, 'a.json')
    expect((await fanout(['loadtest', '-q', '-n', '5', url, '-o', file])).code).toBe(0)
    const merged = await fanout(['loadtest', 'merge', '--threshold', 'p99<10s', file, '--json'])
    expect(merged.stderr).toBe('')
    expect(parseJsonDocument(merged.stdout).thresholds).toMatchObject([{expression: 'p99<10s', pass: true}])
  })

  it('-d with -n names the real conflict, as typed, in one line, before any request', async () => {
    seen.length = 0
    const run = await fanout(['loadtest', '-q', '-d', '1s', '-n', '100', url])
    expect(run.code).toBe(2)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('--duration and --requests')
    expect(lines[0]).not.toContain('10s')
    expect(seen).toHaveLength(0)
  })

  it('an empty --targets file is exit 2 naming the file', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'fanout-flags-')), 'empty.txt')
    await writeFile(file, '# nothing here yet\n\n')
    const run = await fanout(['loadtest', '-q', '-n', '5', '--targets', file])
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain(`--targets: "${file}" holds no URL`)
  })

  it('URL credentials are sent as Basic auth and masked in the JSON, the --output file and the table', async () => {
    seen.length = 0
    const secret = url.replace('http://', 'http://alice:s3cr%40t@')
    const file = join(await mkdtemp(join(tmpdir(), 'fanout-flags-')), 'out.json')
    const json = await fanout(['loadtest', '-q', '-n', '3', secret, '--json', '-o', file])
    expect(json.code).toBe(0)
    expect(seen).toHaveLength(3)
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`)
    const table = await fanout(['loadtest', '-q', '-n', '3', secret])
    expect(table.code).toBe(0)
    const written = await readFile(file, 'utf8')
    for (const text of [json.stdout, json.stderr, written, table.stdout, table.stderr]) expect(text).not.toMatch(/s3cr/)
    expect(parseJsonDocument(json.stdout).config.urls).toEqual([url.replace('http://', 'http://alice:***@')])
    expect(parseJsonDocument(written).config.urls).toEqual([url.replace('http://', 'http://alice:***@')])
    // An explicit -H Authorization wins over the URL's.
    seen.length = 0
    await fanout(['loadtest', '-q', '-n', '1', '-H', 'Authorization: Bearer t', secret])
    expect(seen.map((headers) => headers.authorization)).toEqual(['Bearer t'])
  })

  it('over HTTP/2 (h2c) URL credentials are Basic auth too', async () => {
    const authorizations: (string | undefined)[] = []
    const h2c = createH2cServer((request, response) => {
      authorizations.push(request.headers.authorization)
      response.end('ok')
    })
    await new Promise<void>((resolve) => h2c.listen(0, '127.0.0.1', resolve))
    try {
      const port = (h2c.address() as {port: number}).port
      const run = await fanout(['loadtest', '-q', '-n', '3', '--http2', `http://bob:pa55@127.0.0.1:${port}/`, '--json'])
      expect(run.code, run.stderr).toBe(0)
      expect(authorizations).toEqual(Array(3).fill(`Basic ${Buffer.from('bob:pa55').toString('base64')}`))
      expect(run.stdout).not.toContain('pa55')
    } finally {
      await new Promise((resolve) => h2c.close(resolve))
    }
  })
})
