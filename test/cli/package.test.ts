import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, describe, expect, it} from 'vitest'

import {ROOT} from '../helpers/cli.js'
import {packagesLoaded} from '../helpers/packages-loaded.js'

const run = promisify(execFile)
const COMMANDS = ['exec', 'healthcheck', 'loadtest', 'merge', 'migrate', 'migrate status', 'migrate validate', 'migrate repair']

let dir: string | undefined
afterAll(() => dir && rm(dir, {recursive: true, force: true}))

// npm pack, then a global install into a prefix of its own (from npm's cache), as a user would install it.
describe('the npm package', {timeout: 300_000}, () => {
  it('ships only what a user runs, installs, and every command works from another directory', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fanout-pack-'))
    // prepack would rebuild dist/ under the other tests' feet: make the manifest from the build they run, pack that.
    await run(process.execPath, ['scripts/oclif-manifest.mjs'], {cwd: ROOT})
    let stdout: string
    try {
      stdout = (await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {cwd: ROOT, maxBuffer: 64 * 1024 * 1024})).stdout
    } finally {
      await rm(join(ROOT, 'oclif.manifest.json'), {force: true})
    }
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {filename: string; files: {path: string}[]}[]
    const files = packed!.files.map((file) => file.path)
    expect(files).toContain('oclif.manifest.json')
    expect(files).toContain('bin/run.js')
    expect(files).toContain('schemas/exec.schema.json')
    expect(files.filter((file) => /^dist\/bench\/|^bin\/dev\.js$|\.map$|^test\/|^src\//.test(file))).toEqual([])
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {scripts: Record<string, string>}
    expect(manifest.scripts.prepare).toBeUndefined() // nothing builds at install time
    expect(manifest.scripts.prepack).toMatch(/oclif-manifest/) // a real `npm pack` makes the manifest itself

    const prefix = join(dir, 'prefix')
    await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed!.filename)], {maxBuffer: 64 * 1024 * 1024})
    const fanout = join(prefix, 'bin', 'fanout')
    const elsewhere = {cwd: dir}
    expect((await run(fanout, ['--version'], elsewhere)).stdout).toMatch(/^fanout\/0\.\d+\.\d+ \S+ node-v\d+/)
    for (const command of COMMANDS) {
      const help = await run(fanout, [...command.split(' '), '--help'], elsewhere)
      expect(help.stdout, command).toContain(`$ fanout ${command}`)
    }
    expect((await run(fanout, ['help', 'exec'], elsewhere)).stdout).toContain('$ fanout exec')
    // With the manifest a package ships, a command imports only what it uses: no metrics, spinner, database or HTTP
    // client for a plain exec.
    const bin = join(prefix, 'lib', 'node_modules', 'fanout', 'bin', 'run.js')
    const plain = packagesLoaded(bin, ['exec', '-t', 'a', '-q', '--', 'true'], dir)
    expect(plain).toContain('@oclif/core')
    for (const heavy of ['prom-client', 'ora', 'pg', '@electric-sql/pglite', 'undici', 'yaml', 'hdr-histogram-js', 'p-queue']) expect(plain).not.toContain(heavy)
    expect(packagesLoaded(bin, ['exec', '-t', 'a', '-q', '--metrics-file', join(dir, 'm.prom'), '--', 'true'], dir)).toContain('prom-client')
    expect(packagesLoaded(bin, ['exec', '-t', 'a', '-q', '--rate', '5/s', '--', 'true'], dir)).toContain('p-queue')
    const exec = await run(fanout, ['exec', '-t', 'a', '--json', '--', 'echo'], elsewhere)
    expect(JSON.parse(exec.stdout)).toMatchObject({command: 'exec', ok: true, results: [{stdout: ['a']}]})
  })
})
