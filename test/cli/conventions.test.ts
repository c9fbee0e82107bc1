import {execFileSync} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT, colourCodes, fanout, fanoutInTerminal} from '../helpers/cli.js'
import {packagesLoaded} from '../helpers/packages-loaded.js'
import {hasProgram} from '../helpers/system-program.js'
import {useColor} from '../../src/report/color.js'

describe('oclif conventions', () => {
  it('fanout help, fanout help exec, fanout exec -h and --help all show the help', async () => {
    const [all, help, short, long, sub] = await Promise.all([
      fanout(['help']),
      fanout(['help', 'exec']),
      fanout(['exec', '-h']),
      fanout(['exec', '--help']),
      fanout(['help', 'migrate', 'status']),
    ])
    expect(all.code).toBe(0)
    for (const command of ['exec', 'healthcheck', 'loadtest', 'migrate', 'autocomplete']) expect(all.stdout).toContain(command)
    for (const run of [help, short, long]) {
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toMatch(/^Run a command once per target/)
      expect(run.stdout).toContain('$ fanout exec')
      expect(run.stdout).toMatch(/-h, --help\s+Show this help\./)
    }
    expect(short.stdout).toBe(long.stdout)
    expect(sub.stdout).toContain('$ fanout migrate status')
  })

  it('a mistyped command is exit 127 off a terminal', async () => {
    const piped = await fanout(['exce'])
    expect(piped.code).toBe(127)
    expect(piped.stderr).toMatch(/exce is not a fanout command/)
    // A mistyped subcommand after one of fanout's own topics still reaches the not-found plugin (bin/run.js loads the
    // plugins only when the words name no command of fanout's own).
    const sub = await fanout(['migrate', 'statsu'])
    expect(sub.code).toBe(127)
    expect(sub.stderr).toMatch(/migrate statsu is not a fanout command/)
  })

  it.runIf(hasProgram('script', 'bsdutils'))('a mistyped command asks "did you mean" on a terminal', async () => {
    const typed = await fanoutInTerminal(['exce'], {input: 'n\n', env: {NO_COLOR: '1'}})
    expect(typed.stdout).toMatch(/Did you mean exec\?/)
    expect(typed.code).toBe(127)
  })

  it.runIf(hasProgram('bash', 'bash'))('bash completion completes commands and their flags', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'fanout-complete-'))
    try {
      const env = {XDG_CACHE_HOME: cache}
      const refresh = await fanout(['autocomplete', '--refresh-cache'], {env})
      expect(refresh.code, refresh.stderr).toBe(0)
      // What the user adds to ~/.bashrc names the file that `source` loads.
      expect((await fanout(['autocomplete', 'script', 'bash'], {env})).stdout).toContain(join(cache, 'fanout', 'autocomplete', 'bash_setup'))
      const setup = join(cache, 'fanout', 'autocomplete', 'functions', 'bash', 'fanout.bash')
      expect(await readFile(setup, 'utf8')).toContain('complete -F _fanout_autocomplete fanout')
      const complete = (...words: string[]) =>
        execFileSync('bash', ['-c', `source ${setup}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _fanout_autocomplete; echo "\${COMPREPLY[@]}"`], {encoding: 'utf8'}).trim()
      expect(complete('fanout', 'hea')).toBe('healthcheck')
      expect(complete('fanout', 'exec', '--kill')).toBe('--kill-after')
      expect(complete('fanout', 'migrate', 'status', '--namespace-p')).toBe('--namespace-pattern')
    } finally {
      await rm(cache, {recursive: true, force: true})
    }
  })
})

describe('colour: NO_COLOR and FORCE_COLOR', () => {
  it('decides as no-color.org and FORCE_COLOR say', () => {
    const tty = {isTTY: true}
    const pipe = {isTTY: false}
    expect(useColor(tty, {})).toBe(true)
    expect(useColor(pipe, {})).toBe(false)
    expect(useColor(tty, {NO_COLOR: '1'})).toBe(false)
    expect(useColor(tty, {NO_COLOR: ''})).toBe(true) // set but empty: no effect
    expect(useColor(pipe, {FORCE_COLOR: '1'})).toBe(true)
    expect(useColor(tty, {FORCE_COLOR: '0'})).toBe(false)
    expect(useColor(tty, {TERM: 'dumb'})).toBe(false)
  })

  it.runIf(hasProgram('script', 'bsdutils'))('on a terminal: colour by default; none at all with NO_COLOR (tables, progress, errors)', async () => {
    const args = ['exec', '-t', 'a', '-t', 'b', '--', 'sh', '-c', 'sleep 0.3']
    const plain = await fanoutInTerminal(args)
    expect(plain.code).toBe(0)
    expect(plain.stdout).toContain('┌') // a terminal gets the boxed table…
    expect(colourCodes(plain.stdout).length).toBeGreaterThan(10) // …with bold headers, grey borders, a cyan spinner
    const none = await fanoutInTerminal(args, {env: {NO_COLOR: '1'}})
    expect(none.stdout).toContain('┌')
    expect(colourCodes(none.stdout)).toEqual([])
    const mistyped = await fanoutInTerminal(['exce'], {input: 'n\n', env: {NO_COLOR: '1'}})
    expect(mistyped.stdout).toContain('is not a fanout command')
    expect(colourCodes(mistyped.stdout)).toEqual([])
  })

  it('in a pipe: no colour, unless FORCE_COLOR', async () => {
    const args = ['exec', '-t', 'a', '--', 'true']
    expect(colourCodes((await fanout(args)).stdout)).toEqual([])
    const forced = await fanout(args, {env: {FORCE_COLOR: '1'}})
    expect(colourCodes(forced.stdout)).toContain('\u001B[1m')
    expect(forced.stdout).not.toContain('┌') // colour, but the layout of a pipe
  })
})

describe('start-up', () => {
  it('--version answers before oclif loads, in oclif\'s words', async () => {
    const {version} = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {version: string}
    expect((await fanout(['--version'])).stdout).toBe(`fanout/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    expect(packagesLoaded(join(ROOT, 'bin/run.js'), ['--version'])).toEqual([])
  })
})
