import {spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import {createServer as createNetServer} from 'node:net'
import type {Server, Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {ROOT, fanout, until} from '../helpers/cli.js'
import {hasProgram} from '../helpers/system-program.js'
import {expectReconciled, loadJson} from './load-run.js'

const servers: Server[] = []
const sockets = new Set<Socket>()
const children: ChildProcess[] = []
afterEach(async () => {
  for (const child of children.splice(0)) child.kill()
  for (const socket of sockets) socket.destroy()
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

async function listen(server: Server): Promise<string> {
  servers.push(server)
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as {port: number}).port}`
}

/**
 * A server speaking raw bytes: `answer` gets each request head (up to its blank line) and the count of requests seen
 * on that connection, and writes what it likes. Each connection's request count is kept.
 */
async function rawServer(answer: (socket: Socket, head: string, nth: number) => void) {
  const perConnection: number[] = []
  const host = await listen(
    createNetServer((socket) => {
      const index = perConnection.push(0) - 1
      let buffered = ''
      socket.on('error', () => {})
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1')
        for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
          const head = buffered.slice(0, end)
          buffered = buffered.slice(end + 4)
          answer(socket, head, ++perConnection[index]!)
        }
      })
    }),
  )
  return {url: `http://${host}/`, perConnection}
}

describe('fanout loadtest at the edges of the wire', () => {
  it.runIf(hasProgram('python3', 'python3'))('a listener that never accepts: its connections are counted connect errors or timeouts, and exit 1 says why', async () => {
    // listen(0) and never accept(): the kernel completes one handshake into the backlog, then drops every SYN.
    const child = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'])
    children.push(child)
    let out = ''
    child.stdout!.on('data', (chunk) => (out += chunk))
    const port = await until(() => /^\d+\n/.test(out) && out.trim())
    const run = await loadJson([`http://127.0.0.1:${port}/`, '-d', '2s', '-w', '6', '--timeout', '400ms'])
    expect(run.code).toBe(1)
    expect(run.report.summary.completed).toBe(0)
    expect(run.report.errors.connect!.count).toBeGreaterThan(6)
    expect(run.report.errors.connect!.first).toBe('no connection within 400 ms')
    expect(run.report.summary.errors).toBe((run.report.errors.connect?.count ?? 0) + (run.report.errors.timeout?.count ?? 0))
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fanout loadtest: no request completed: .* connect errors, the first: no connection within 400 ms$/)])
    expectReconciled(run.report)
  })

  it('a TLS handshake that never completes is a connect error, not a silent zero', async () => {
    const silent = await listen(createNetServer((socket) => socket.on('error', () => {}))) // accepts, never answers the ClientHello
    const run = await loadJson([`https://${silent}/`, '-n', '4', '-w', '2', '--timeout', '300ms', '--insecure'])
    expect(run.code).toBe(1)
    expect(run.report.errors.connect).toMatchObject({count: 4, first: 'no connection within 300 ms'})
    expectReconciled(run.report)
  })

  it('-w past the file-descriptor limit is one line naming ulimit -n, exit 2, before any connection', async () => {
    const {url, perConnection} = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))
    const bin = join(ROOT, 'bin', 'run.js')
    const run = await new Promise<{code: number | null; stderr: string}>((resolve) => {
      const child = spawn('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${bin}" loadtest ${url} -w 400 -n 10`])
      let stderr = ''
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('close', (code) => resolve({code, stderr}))
    })
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/--workers 400 needs \d+ open files and this process may open 256 \(ulimit -n\)/)
    expect(perConnection).toEqual([])
  })

  it('HTTP/1.0 (body ends at close) and Connection: close answers: each request gets a fresh connection, none fails', async () => {
    const old = await rawServer((socket) => socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from 1.0'))
    const run = await loadJson([old.url, '-n', '60', '-w', '2'])
    expect(run.report.summary).toMatchObject({requests: 60, completed: 60, errors: 0})
    expect(Math.max(...old.perConnection)).toBe(1)
    // A server that says close but keeps the socket open a while: nothing more may go out on it, and nothing waits.
    const lingering = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok')
      setTimeout(() => socket.destroy(), 5000).unref()
    })
    const closing = await loadJson([lingering.url, '-n', '60', '-w', '2'])
    expect(closing.report.summary).toMatchObject({requests: 60, completed: 60, errors: 0})
    expect(Math.max(...lingering.perConnection)).toBe(1)
    expect(closing.ms).toBeLessThan(20_000) // waiting for each close would take 30 x 5 s
    const keepAlive10 = await rawServer((socket) => socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'))
    const ten = await loadJson([keepAlive10.url, '-n', '30', '-w', '1'])
    expect(ten.report.summary).toMatchObject({completed: 30, errors: 0})
    expect(Math.max(...keepAlive10.perConnection)).toBe(1)
  })

  it('-H "Host: other" replaces the URL\'s Host rather than adding a second', async () => {
    const hosts: string[][] = []
    const host = await listen(
      createServer((request, response) => {
        hosts.push(request.rawHeaders.flatMap((value, i) => (i % 2 === 0 && value.toLowerCase() === 'host' ? [request.rawHeaders[i + 1]!] : [])))
        response.end('ok')
      }),
    )
    const run = await loadJson([`http://${host}/`, '-H', 'Host: other.example', '-n', '20', '-w', '1'])
    expect(run.report.status).toEqual({200: 20})
    expect(hosts).toHaveLength(20)
    for (const seen of hosts) expect(seen).toEqual(['other.example'])
  })

  it('CR, LF or NUL in the method, a header, the URL or a targets line is exit 2 and nothing is sent', async () => {
    const {url, perConnection} = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))
    const file = join(await mkdtemp(join(tmpdir(), 'fanout-edges-')), 'targets.txt')
    await writeFile(file, `GET ${url}a\0b\n`)
    const cases = [
      [url, '-m', 'GET /x HTTP/1.1\r\nX-Smuggled: 1\r\n\r\nGET'],
      [url, '-H', 'X-A: 1\r\nX-Smuggled: 1'],
      [url, '-H', 'X-A: 1\nX-Smuggled: 1'],
      [`${url}a\r\nX-Smuggled: 1`],
      ['--targets', file], // NUL: argv cannot carry it, a file can
    ]
    for (const args of cases) {
      const run = await fanout(['loadtest', ...args, '-n', '5'])
      expect(run.code, JSON.stringify(args)).toBe(2)
      expect(run.stderr.trim().split('\n'), JSON.stringify(args)).toHaveLength(1)
      expect(run.stderr, JSON.stringify(args)).toMatch(/CR, LF or NUL|not an HTTP token|is not text \(a NUL byte/)
    }
    expect(perConnection).toEqual([])
  })

  it('reads responses that arrive a few bytes at a time: heads, chunk-size lines and bodies split over reads, after a 1xx', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
      'HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    ]
    for (const answer of answers) {
      // Three bytes a write, each its own segment a moment apart: every read holds a piece, the next read lands on it.
      const {url} = await rawServer((socket) => {
        socket.setNoDelay(true)
        const pieces = answer.match(/[^]{1,3}/g)!
        const next = () => pieces.length > 0 && socket.write(pieces.shift()!, () => setTimeout(next, 1))
        next()
      })
      const run = await loadJson([url, '-n', '12', '-w', '2'])
      expect(run.report.summary, answer).toMatchObject({completed: 12, errors: 0})
      expect(run.report.status, answer).toEqual(answer.includes('201') ? {201: 12} : {200: 12})
      expect(run.report.tally.bytesReceived, answer).toBe(12 * answer.length)
    }
  })

  it('keeps any three-digit status (999) and makes two conflicting Content-Length values a parse error', async () => {
    const odd = await rawServer((socket) => socket.write('HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok'))
    const run = await loadJson([odd.url, '-n', '50', '-w', '2'])
    expect(run.report.status).toEqual({999: 50})
    for (const lengths of ['Content-Length: 2\r\nContent-Length: 5', 'Content-Length: 2\r\ncontent-length: 5', 'Content-Length: 2, 5', 'content-length: 5\r\nContent-Length: 2']) {
      const conflicting = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\n${lengths}\r\n\r\nokxyz`))
      const bad = await loadJson([conflicting.url, '-n', '10', '-w', '1'])
      expect(bad.report.errors.parse, lengths).toMatchObject({count: 10, first: expect.stringMatching(/conflicting Content-Length values: (2, 5|5, 2)/)})
      expect(bad.report.status, lengths).toEqual({})
    }
    const same = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'))
    const agreeing = await loadJson([same.url, '-n', '20', '-w', '1'])
    expect(agreeing.report.status).toEqual({200: 20})
  })
})
