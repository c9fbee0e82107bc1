import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/cli/errors.js'
import {checksFromUrls} from '../../src/health/check.js'
import {maskUrl} from '../../src/report/mask.js'
import type {CheckDefaults} from '../../src/health/check.js'
import {loadCheckFile} from '../../src/health/check-file.js'

const defaults: CheckDefaults = {timeoutMs: 5000, retries: 0, insecure: false, headers: {}}

async function file(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-checks-'))
  const path = join(dir, 'checks.yaml')
  await writeFile(path, text)
  return path
}

async function loadError(text: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const path = await file(text)
  try {
    await loadCheckFile(path, defaults, env)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    const line = (error as UsageError).line
    expect(line.split('\n')).toHaveLength(1)
    return line.replace(path, 'checks.yaml')
  }
  throw new Error('expected the check file to be refused')
}

describe('YAML check files', () => {
  it('reads defaults and checks, with per-check overrides, ${ENV} substitution and conditions', async () => {
    const path = await file(`
defaults:
  timeout: 2s
  retries: 1
  retry-delay: 250ms
  headers:
    X-Team: platform
checks:
  - name: api
    group: core
    tags: [prod, http]
    url: http://127.0.0.1:\${API_PORT}/health
    headers:
      Authorization: Bearer \${TOKEN}
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
  - url: tcp://127.0.0.1:5432
    timeout: 500ms
    retries: 0
  - url: http://127.0.0.1:8080/submit
    body: '{"ping": true}'
    insecure: true
    timeout: \${SLOW:-9s}
`)
    const {checks, retryDelayMs} = await loadCheckFile(path, defaults, {API_PORT: '8081', TOKEN: 's3cret'})
    expect(retryDelayMs).toBe(250)
    expect(checks).toHaveLength(3)
    const [api, tcp, submit] = checks
    expect(api).toMatchObject({name: 'api', group: 'core', tags: ['prod', 'http'], timeoutMs: 2000, retries: 1, method: 'GET'})
    expect(api!.url.href).toBe('http://127.0.0.1:8081/health')
    expect(api!.headers).toEqual({'x-team': 'platform', authorization: 'Bearer s3cret'})
    expect(api!.conditions.map((c) => c.text)).toEqual(['[STATUS] == 200', '[BODY].status == UP'])
    expect(String(api!.where)).toBe(`${path}:9`) // the file starts with a blank line
    expect(tcp).toMatchObject({name: 'tcp://127.0.0.1:5432', timeoutMs: 500, retries: 0})
    expect(tcp!.conditions.map((c) => c.text)).toEqual(['[CONNECTED] == true'])
    expect(submit).toMatchObject({method: 'POST', body: '{"ping": true}', insecure: true, timeoutMs: 9000})
    expect(submit!.conditions.map((c) => c.text)).toEqual(['[STATUS] < 400'])
  })

  it('refuses every mistake with file:line and the fix', async () => {
    expect(await loadError('checks:\n  - url: http://a\n    timout: 5s\n')).toBe(
      'checks.yaml:3: unknown key "timout"; expected one of: name, group, tags, url, method, headers, body, timeout, retries, insecure, conditions',
    )
    expect(await loadError('checks:\n  - url: http://a\n    timeout: 5 seconds\n')).toMatch(
      /^checks.yaml:3: `timeout` expects a duration like 500ms, 5s, 2m or 1m30s; got "5 seconds"$/,
    )
    expect(await loadError('checks:\n  - url: http://a\n    conditions:\n      - "[STAUTS] == 200"\n')).toMatch(/^checks.yaml:4: .*STAUTS/)
    expect(await loadError('checks:\n  - url: http://a\n    conditions:\n      - "[STATUS] == abc"\n')).toMatch(/^checks.yaml:4: /)
    expect(await loadError('checks:\n  - name: x\n')).toBe('checks.yaml:2: check has no `url`; add one, e.g. url: https://api.internal/health')
    expect(await loadError('checks:\n  - url: ftp://a\n')).toMatch(/^checks.yaml:2: unsupported scheme "ftp:"/)
    expect(await loadError('checks:\n  - url: tcp://db.internal\n')).toBe('checks.yaml:2: tcp://db.internal has no port; write it as tcp://db.internal:PORT')
    expect(await loadError('checks:\n  - url: http://a/${MISSING}\n')).toMatch(/^checks.yaml:2: environment variable MISSING is not set/)
    expect(await loadError('checks:\n  - url: http://a\n    name: x\n  - url: http://b\n    name: x\n')).toMatch(
      /^checks.yaml:4: duplicate check name "x" \(first at .*:2\)/,
    )
    expect(await loadError('defaults:\n  retries: lots\nchecks:\n  - url: http://a\n')).toMatch(/^checks.yaml:2: `retries` expects a whole number/)
    expect(await loadError('checks: [\n')).toMatch(/^checks.yaml:\d+: invalid YAML/)
    expect(await loadError('- url: http://a\n')).toMatch(/^checks.yaml:1: expected a mapping with `checks:`/)
    expect(await loadError('defaults: {}\n')).toMatch(/no `checks:` list/)
    expect(await loadError('checks:\n  - url: http://a\n    insecure: maybe\n')).toBe('checks.yaml:3: `insecure` must be true or false')
  })

  it('reads anchors and merge keys, as Gatus files share a client block, and still names the line of a bad value', async () => {
    const gatus = [
      'endpoints:',
      '  - name: api',
      '    url: http://127.0.0.1:1/health',
      '    client: &client {timeout: 3s, insecure: true}',
      '  - name: web',
      '    url: http://127.0.0.1:2/',
      '    client:',
      '      <<: *client',
      '      timeout: 2s',
      '    "conditions":',
      '      - "[STATUS] == 200"',
      '',
    ]
    const {checks} = await loadCheckFile(await file(gatus.join('\n')), defaults)
    expect(checks.map(({name, timeoutMs, insecure}) => ({name, timeoutMs, insecure}))).toEqual([
      {name: 'api', timeoutMs: 3000, insecure: true},
      {name: 'web', timeoutMs: 2000, insecure: true},
    ])
    expect(checks.map((check) => String(check.where))).toEqual([expect.stringMatching(/:2$/), expect.stringMatching(/:5$/)])
    gatus[8] = '      timeout: 2 s'
    gatus[10] = '      - "[STAUTS] == 200"'
    expect(await loadError(gatus.join('\n'))).toMatch(/^checks.yaml:9: `client.timeout` expects a duration/)
    gatus[8] = '      timeout: 2s'
    expect(await loadError(gatus.join('\n'))).toMatch(/^checks.yaml:11: unknown placeholder \[STAUTS\]/)
    // A value that came in by the merge has the line of the map it was merged into.
    gatus[3] = '    client: &client {timeout: soon}'
    expect(await loadError(gatus.join('\n'))).toMatch(/^checks.yaml:4: `client.timeout` expects/)
  })

  it('a merge into each of thousands of endpoints is fine; a few lines that merge into millions of keys are not', async () => {
    const endpoints = ['endpoints:', '  - {name: e0, url: "tcp://127.0.0.1:1", client: &c {timeout: 3s, insecure: true, network: ip4}}']
    for (let i = 1; i < 5000; i++) endpoints.push(`  - {name: e${i}, url: "tcp://127.0.0.1:1", client: {<<: *c, timeout: 2s}}`)
    const {checks} = await loadCheckFile(await file(endpoints.join('\n')), defaults)
    expect(checks).toHaveLength(5000)
    expect(checks[4999]).toMatchObject({timeoutMs: 2000, insecure: true})
    const keys = Array.from({length: 2000}, (_, i) => `k${i}: 1`).join(', ')
    const bomb = `a: &a {${keys}}\nendpoints:\n${Array.from({length: 2000}, (_, i) => `  - {<<: *a, name: e${i}}`).join('\n')}\n`
    expect(await loadError(bomb)).toMatch(/^checks\.yaml:\d+: invalid YAML: merge keys exceeded maxTotalMergeKeys/)
  })

  it('refuses a file of several YAML documents and a key given twice', async () => {
    expect(await loadError('checks:\n  - url: http://a\n---\nchecks: []\n')).toBe('checks.yaml: holds 2 YAML documents (---); a configuration file is one')
    expect(await loadError('checks:\n  - url: http://a\n    url: http://b\n')).toBe('checks.yaml:3: invalid YAML: duplicated mapping key')
  })

  it('names an unreadable file', async () => {
    await expect(loadCheckFile('/nonexistent/checks.yaml', defaults)).rejects.toThrow(/cannot read check file "\/nonexistent\/checks.yaml" \(ENOENT\)/)
  })
})

describe('plain URL checks', () => {
  it('take the flags\' conditions, or default ones by scheme, and hide passwords when shown', () => {
    const checks = checksFromUrls(
      [
        {text: 'http://127.0.0.1:1/x', where: 'argument 1'},
        {text: 'postgres://app:hunter2@127.0.0.1:5432/app', where: 'argument 2'},
      ],
      defaults,
      [],
    )
    expect(checks.map((c) => c.conditions.map((x) => x.text))).toEqual([['[STATUS] < 400'], ['[CONNECTED] == true']])
    expect(checks[1]!.name).toBe('postgres://app:***@127.0.0.1:5432/app')
    expect(maskUrl(new URL('http://u:p@h/'))).toBe('http://u:***@h/')
    expect(() => checksFromUrls([{text: 'not a url', where: 'argument 3'}], defaults, [])).toThrow(
      'argument 3: "not a url" is not a URL; write it in full, e.g. https://host:8443/health or tcp://host:5432',
    )
  })
})
