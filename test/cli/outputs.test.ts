import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {maskCredentials, maskUrl} from '../../src/report/mask.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-outputs-'))
  await mkdir(join(dir, 'adir'))
})
afterAll(() => rm(dir, {recursive: true, force: true}))

/** One line on stderr, exit 2, nothing on stdout: refused before any work. */
function refused(run: {code: number | null; stdout: string; stderr: string}, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(2)
  expect(run.stdout).toBe('')
  expect(run.stderr.trim().split('\n')).toHaveLength(1)
  expect(run.stderr).toMatch(pattern)
}

describe('every output path and address is checked before any work', () => {
  it('refuses a missing directory, a directory as the file, and a port past 65535 with exit 2 and one line', async () => {
    const marker = join(dir, 'ran')
    const exec = (...flags: string[]) => fanout(['exec', '-t', 'a', ...flags, '--', 'touch', marker])
    refused(await exec('--metrics-file', join(dir, 'adir')), /--metrics-file: ".*adir" is a directory; give a file path inside it/)
    refused(await exec('--metrics-file', join(dir, 'missing', 'x.prom')), /--metrics-file: the directory of ".*x\.prom" \(".*missing"\) does not exist; create it first/)
    refused(await exec('--metrics-addr', '127.0.0.1:99999'), /--metrics-addr expects host:port with a port from 0 to 65535.*got "127\.0\.0\.1:99999"/)
    refused(await exec('--pushgateway', 'ftp://user:secret@gw'), /--pushgateway expects an http:\/\/ or https:\/\/ URL.*got "ftp:\/\/user:\*\*\*@gw"/)
    refused(await fanout(['loadtest', 'http://127.0.0.1:9/', '-n', '1', '--output', join(dir, 'adir')]), /--output: ".*adir" is a directory/)
    refused(await fanout(['healthcheck', 'http://127.0.0.1:9/', '--output', join(dir, 'missing', 'r.xml')]), /--output: the directory of ".*r\.xml" \(".*missing"\) does not exist/)
    refused(await fanout(['loadtest', 'merge', 'nothing.json', '--output', join(dir, 'missing', 'm.json')]), /--output: the directory of ".*m\.json"/)
    expect((await readdir(dir)).sort()).toEqual(['adir']) // nothing ran, no temporary file
  })

  it('a write that fails at the end still prints the report, says why in one line, exits 1 and leaves no temporary file', async () => {
    // The work itself removes the directory the figures go to: the check before passed, the write after fails.
    const gone = join(dir, 'gone')
    await mkdir(gone)
    const run = await fanout(['exec', '-t', gone, '--json', '--metrics-file', join(gone, 'm.prom'), '--', 'rm', '-r', '{}'])
    expect(run.code).toBe(1)
    expect(parseJsonDocument(run.stdout)).toMatchObject({command: 'exec', ok: true, summary: {succeeded: 1}})
    expect(run.stderr.trim()).toMatch(/^fanout exec: --metrics-file: cannot write ".*gone\/m\.prom" \(ENOENT\); exiting 1$/)

    const report = join(dir, 'report')
    await mkdir(report)
    const server = createServer((_request, response) => void rm(report, {recursive: true, force: true}).then(() => response.end('ok')))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const health = await fanout(['healthcheck', url, '--json', '--output', join(report, 'h.json')])
      expect(health.code).toBe(1)
      expect(parseJsonDocument(health.stdout)).toMatchObject({command: 'healthcheck', ok: true})
      expect(health.stderr).toMatch(/--output: cannot write ".*h\.json" \(ENOENT\); the report is on stdout; exiting 1/)
    } finally {
      server.close()
    }
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})

describe('credentials are masked in every message, report and file', () => {
  it('masks the password of any URL in a text, and keeps the user', () => {
    expect(maskCredentials('mysql://u:pw@h/db and https://a:b%40c@x:1/p')).toBe('mysql://u:***@h/db and https://a:***@x:1/p')
    expect(maskCredentials('postgres://postgres@127.0.0.1/db')).toBe('postgres://postgres@127.0.0.1/db')
    expect(maskUrl(new URL('redis://:secret@127.0.0.1:6379'))).toBe('redis://:***@127.0.0.1:6379')
  })

  it('in usage lines, push errors, and exec and loadtest reports', async () => {
    const database = await fanout(['migrate', '--database', 'mysql://u:pw@db.example/app', '-n', 'a', '--dir', 'fixtures/migrations'])
    refused(database, /got "mysql:\/\/u:\*\*\*@db\.example\/app"/)
    const push = await fanout(['exec', '-t', 'a', '-q', '--pushgateway', 'http://user:pw@127.0.0.1:9', '--', 'true'])
    expect(push.stderr).toMatch(/could not push to http:\/\/user:\*\*\*@127\.0\.0\.1:9 \(ECONNREFUSED\)/)
    const exec = await fanout(['exec', '-t', 'https://deploy:token@git.example/repo', '--json', '--', 'true'])
    expect(parseJsonDocument(exec.stdout).results[0].target).toBe('https://deploy:***@git.example/repo')
    const load = await fanout(['loadtest', 'http://u:pw@127.0.0.1:9/', '-n', '2', '-q', '--json', '--output', join(dir, 'load.json')])
    for (const text of [exec.stdout, exec.stderr, load.stdout, load.stderr, push.stderr, database.stderr]) expect(text).not.toMatch(/pw|token/)
    expect(parseJsonDocument(load.stdout).config.urls).toEqual(['http://u:***@127.0.0.1:9/'])
  })
})

describe('list files must be text', () => {
  it('exec --targets of random bytes, or with a NUL byte, is exit 2 naming the file, and runs nothing', async () => {
    const random = join(dir, 'random.bin')
    await writeFile(random, Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7919 + 13) % 256)))
    refused(await fanout(['exec', '--targets', random, '--', 'true']), /--targets: ".*random\.bin" is not text \(a NUL byte on line \d+\); give a file with/)
    const nul = join(dir, 'nul.txt')
    await writeFile(nul, 'a\nb\u0000c\n')
    refused(await fanout(['exec', '--targets', nul, '--', 'true']), /"[^"]*nul\.txt" is not text \(a NUL byte on line 2\)/)
    const latin1 = join(dir, 'latin1.txt')
    await writeFile(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))
    refused(await fanout(['exec', '--targets', latin1, '--', 'true']), /"[^"]*latin1\.txt" is not text \(not UTF-8\)/)
    refused(await fanout(['healthcheck', '--file', nul]), /--file: "[^"]*nul\.txt" is not text/)
  })

  it('a directory named like a migration is exit 2 naming it', async () => {
    const migrations = join(dir, 'migrations')
    await mkdir(join(migrations, 'V2__dir.sql'), {recursive: true})
    await writeFile(join(migrations, 'V1__a.sql'), 'SELECT 1;\n')
    refused(await fanout(['migrate', '--database', 'pglite://memory', '--dir', migrations, '-n', 'a']), /--dir: ".*V2__dir\.sql" is a directory named like a migration file; rename it/)
  })
})
