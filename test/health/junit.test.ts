import {spawnSync} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startBackends} from '../../fixtures/servers/backends.mjs'
import type {Backends} from '../../fixtures/servers/backends.mjs'
import {ROOT, fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {hasProgram} from '../helpers/system-program.js'

let backends: Backends
let file: string
beforeAll(async () => {
  backends = await startBackends({hosts: ['127.0.0.1']})
  file = join(await mkdtemp(join(tmpdir(), 'fanout-junit-')), 'checks.yaml')
  await writeFile(
    file,
    `defaults: {retry-delay: 20ms}
checks:
  - {name: steady, group: core, url: "\${BASE}/health"}
  - {name: warming-up, group: core, url: "\${BASE}/flaky?id=\${RUN}&fail=1", retries: 2, conditions: ["[STATUS] == 200"]}
  - {name: down, group: edge, url: "\${BASE}/flaky?id=\${RUN}-down&fail=9", retries: 1, conditions: ["[STATUS] == 200"]}
`,
  )
})
afterAll(() => backends.close())

const env = (run: string) => ({BASE: `http://127.0.0.1:${backends.port}`, RUN: run})

describe('retries and phases in the report', () => {
  it('--json: the tries before the last, each with why it failed', async () => {
    const run = await fanout(['healthcheck', '--file', file, '--json'], {env: env('json')})
    const [steady, warming, down] = parseJsonDocument(run.stdout).results
    expect(steady.tries).toBeUndefined()
    expect(warming).toMatchObject({status: 'succeeded', attempts: 2, tries: [{attempt: 1, error: {code: 'condition', message: '[STATUS] (503) == 200'}}]})
    expect(down).toMatchObject({status: 'failed', attempts: 2, tries: [{attempt: 1, error: {code: 'condition'}}]})
  })

  describe.runIf(hasProgram('xmllint', 'libxml2-utils'))('JUnit', () => {
    it('tries and phases in <properties>, the retry history in <system-out>, valid against junit-10.xsd', async () => {
      const run = await fanout(['healthcheck', '--file', file, '--format', 'junit'], {env: env('junit')})
      expect(run.code).toBe(1)
      const xml = run.stdout
      expect(xml).toContain('<property name="warming-up.tries" value="2"/>')
      expect(xml).toMatch(/<property name="steady.phases" value="connect=[\d.]+ms ttfb=[\d.]+ms transfer=[\d.]+ms"\/>/)
      // A pass on the second try is no plain pass.
      expect(xml).toMatch(/<testcase name="warming-up"[^>]*>\n\s*<system-out>try 1 of 2: condition: \[STATUS\] \(503\) == 200\ntry 2 of 2: passed<\/system-out>/)
      expect(xml).toMatch(/<testcase name="steady"[^>]*\/>/)
      const lint = spawnSync('xmllint', ['--noout', '--schema', `${ROOT}fixtures/junit/junit-10.xsd`, '-'], {input: xml, encoding: 'utf8'})
      expect(lint.stderr.trim()).toBe('- validates')
    })
  })
})
