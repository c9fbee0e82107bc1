/**
 * The hostile-server sweep of issue 14, one test per finding: each failed before the fix it names.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo, Server} from 'node:net'
import {createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {probeFor} from '../../src/health/probes/index.js'
import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {closedPort, httpServer} from '../helpers/servers.js'
import type {TestServer} from '../helpers/servers.js'

const MIB = 1024 * 1024

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Answers every request with these bytes as they are, then closes. */
async function rawServer(answer: string): Promise<{url: string; close: () => Promise<void>}> {
  const server = createNetServer((socket) => socket.once('data', () => socket.end(answer)))
  const address = await listen(server)
  return {url: `http://${address}/`, close: () => new Promise((resolve) => server.close(() => resolve()))}
}

let dir: string
let echo: TestServer
/** Bodies by path: big JSON, deep JSON. */
let bodies: Server
let bodiesBase: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-findings-'))
  echo = await httpServer()
  const big = JSON.stringify({padding: 'x'.repeat(2 * MIB), status: 'UP'})
  const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
  bodies = createServer((request, response) => {
    response.writeHead(200, {'content-type': 'application/json'})
    response.end(request.url === '/big' ? big : deep)
  })
  bodiesBase = `http://${await listen(bodies)}`
})
afterAll(async () => {
  await echo.close()
  await new Promise((resolve) => bodies.close(resolve))
})

const json = (stdout: string) => parseJsonDocument(stdout)

describe('interim 1xx answers', () => {
  it('an unsolicited 100 Continue (and a 103) before the 200 is skipped, as curl does', async () => {
    const server = await rawServer(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nOK',
    )
    const url = new URL(server.url)
    const result = await probeFor(url)(url, {method: 'GET', headers: {}, insecure: false, maxRedirects: 5, maxBodyBytes: MIB, signal: AbortSignal.timeout(5000)})
    expect(result.error).toBeUndefined()
    expect(result).toMatchObject({status: 200, body: 'OK'})
    await server.close()
  })
})

describe('bodies and --max-body', () => {
  it('a 2 MiB JSON body with the field present passes (the default limit is 16 MiB)', async () => {
    const run = await fanout(['healthcheck', '-C', '[BODY].status == UP', `${bodiesBase}/big`, '--json'])
    expect(run.stderr).toBe('')
    expect(json(run.stdout).results[0]).toMatchObject({status: 'succeeded', httpStatus: 200})
    expect(run.code).toBe(0)
  })

  it('a body over --max-body fails its body conditions, saying so', async () => {
    const run = await fanout(['healthcheck', '-C', '[BODY].status == UP', `${bodiesBase}/big`, '--max-body', '1MiB', '--json'])
    expect(run.code).toBe(1)
    const [result] = json(run.stdout).results
    expect(result).toMatchObject({status: 'failed', httpStatus: 200, error: {code: 'condition'}})
    expect(result.conditions[0].actual).toBe('[BODY].status (body over --max-body 1MiB, not read past it; raise --max-body) == UP')
  })

  it('--max-body refuses what is not a size', async () => {
    const run = await fanout(['healthcheck', `${bodiesBase}/big`, '--max-body', 'lots'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--max-body expects a size like 512KiB, 16MiB, 1GB or 1000 (bytes); got "lots"')
  })

  it('a 100,000-deep JSON body: a depth limit with its own message, the 200 still shown', async () => {
    const run = await fanout(['healthcheck', '-C', '[BODY].a == 1', '-C', 'len([BODY].a) == 1', `${bodiesBase}/deep`, '--json'])
    expect(run.code).toBe(1)
    const [result] = json(run.stdout).results
    expect(result).toMatchObject({status: 'failed', httpStatus: 200, error: {code: 'condition'}})
    expect(result.conditions.map((c: {actual: string}) => c.actual)).toEqual([
      '[BODY].a (JSON nested deeper than 1000 levels, not read) == 1',
      'len([BODY].a) (JSON nested deeper than 1000 levels, not read) == 1',
    ])
  })
})

describe('redirects', () => {
  it('an error after a redirect names the hop', async () => {
    const port = await closedPort()
    const target = `http://127.0.0.1:${port}/gone`
    const from = `${echo.url}/redirect-to?url=${encodeURIComponent(target)}`
    const run = await fanout(['healthcheck', from, '--json'])
    expect(run.code).toBe(1)
    expect(json(run.stdout).results[0].error).toEqual({
      code: 'refused',
      message: `connection refused by 127.0.0.1:${port} (after redirect ${from} -> ${target})`,
    })
  })
})

describe('flags', () => {
  it('--watch below 1s is exit 2 before any request', async () => {
    for (const watch of ['0s', '500ms']) {
      const run = await fanout(['healthcheck', `${echo.url}/ok`, '--watch', watch])
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/--watch expects at least 1s between rounds; got \d+ms/)
    }
  })

  it('--validate refuses a method that is no HTTP method, with file:line', async () => {
    const file = join(dir, 'method.yaml')
    await writeFile(file, `checks:\n  - name: api\n    url: ${echo.url}/ok\n    method: "FOO BAR"\n`)
    const run = await fanout(['healthcheck', '--validate', file])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${file}:4: method "FOO BAR" is not an HTTP method; write one word like GET, POST or HEAD`)
  })

  it('-H and -C take one value each and never swallow the URL after them', async () => {
    const run = await fanout(['healthcheck', '-H', 'Authorization: Bearer X', `${echo.url}/echo`, '-C', '[STATUS] == 200', `${echo.url}/ok`, '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const report = json(run.stdout)
    expect(report.summary.total).toBe(2)
  })
})

describe('--json --watch', () => {
  it('writes one JSON document a line (NDJSON); after Ctrl-C the last line is marked interrupted', async () => {
    const run = await fanout(['healthcheck', `${echo.url}/ok`, '--json', '--watch', '1s'], {
      interruptWhen: (stdout) => stdout.split('\n').length > 2,
    })
    expect(run.code).toBe(130)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(3)
    const documents = lines.map((line) => parseJsonDocument(line))
    for (const document of documents.slice(0, -1)) expect(document).toMatchObject({ok: true, summary: {succeeded: 1}})
    expect(documents.at(-1)).toMatchObject({ok: false, interrupted: true})
    for (const document of documents.slice(0, -1)) expect(document.interrupted).toBeUndefined()
  })
})
