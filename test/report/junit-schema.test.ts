import {spawnSync} from 'node:child_process'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {describe, expect, it} from 'vitest'

import {ROOT, fanout} from '../helpers/cli.js'
import {closedPort} from '../helpers/servers.js'
import {hasProgram} from '../helpers/system-program.js'

const XSD = `${ROOT}fixtures/junit/junit-10.xsd`

const xmllint = (xml: string) => spawnSync('xmllint', ['--noout', '--schema', XSD, '-'], {input: xml, encoding: 'utf8'})

describe.runIf(hasProgram('xmllint', 'libxml2-utils'))('JUnit XML against junit-10.xsd (xmllint --schema)', () => {
  it('the schema refuses what Jenkins refuses: skipped on <testsuites>', () => {
    const invalid = xmllint('<testsuites tests="1" skipped="0"><testsuite name="s" tests="1"><testcase name="c"/></testsuite></testsuites>')
    expect(invalid.status).not.toBe(0)
    expect(invalid.stderr).toMatch(/attribute 'skipped': The attribute 'skipped' is not allowed/)
  })

  it('healthcheck --format junit is valid with passes, failures, errors, skips and text that needs escaping', async () => {
    const server = createServer((request, response) => response.writeHead(request.url?.startsWith('/bad') ? 500 : 200).end('<ok & "fine">'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const closed = `tcp://127.0.0.1:${await closedPort()}`
      const mixed = await fanout(['healthcheck', `${base}/ok`, `${base}/bad?a<b&c="d"`, closed, '--format', 'junit'])
      expect(mixed.code).toBe(1)
      expect(mixed.stdout).toMatch(/<failure type="condition"/)
      expect(mixed.stdout).toMatch(/<error type="refused"/)
      const stopped = await fanout(['healthcheck', closed, `${base}/ok`, `${base}/ok2`, '--fail-fast', '-w', '1', '--format', 'junit'])
      expect(stopped.stdout).toMatch(/<skipped message=/)
      for (const xml of [mixed.stdout, stopped.stdout]) {
        const check = xmllint(xml)
        expect(check.stderr.trim()).toBe('- validates')
        expect(check.status).toBe(0)
      }
    } finally {
      server.close()
    }
  })
})
