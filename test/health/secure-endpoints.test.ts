/**
 * Gatus endpoints over secured transports, with certificates of a CA made for the run (trusted through
 * NODE_EXTRA_CA_CERTS, so verification is real): https through an HTTP proxy's CONNECT tunnel.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {connectProxy} from '../helpers/protocol-servers.js'
import type {Running} from '../helpers/protocol-servers.js'
import {httpServer} from '../helpers/servers.js'
import type {TestServer} from '../helpers/servers.js'
import {makeTestCa} from '../helpers/test-ca.js'
import type {TestCa} from '../helpers/test-ca.js'

type Result = {
  name: string
  status: string
  httpStatus?: number
  ip?: string
  certificateExpiresAt?: string
  phases: Record<string, number>
  responseTimeMs: number
  error?: {code: string; message: string}
  conditions: {ok: boolean; actual: string}[]
}

const HOUR = 3600 * 1000
let ca: TestCa
let dir: string
const running: Array<Running | TestServer> = []

beforeAll(async () => {
  ca = makeTestCa()
  dir = await mkdtemp(join(tmpdir(), 'fanout-secure-'))
}, 30_000)
afterAll(() => Promise.all(running.map((server) => server.close())))

/** Runs a Gatus configuration with the test CA trusted; the results by name. */
async function runGatus(config: string, env: Record<string, string> = {}): Promise<{code: number | null; stderr: string; results: Map<string, Result>}> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(file, config)
  const run = await fanout(['healthcheck', '--file', file, '--json', '--timeout', '10s'], {env: {NODE_EXTRA_CA_CERTS: ca.caFile, ...env}})
  const results = new Map((parseJsonDocument(run.stdout).results as Result[]).map((result) => [result.name, result]))
  return {code: run.code, stderr: run.stderr, results}
}

describe('client.proxy-url with an https:// endpoint: a CONNECT tunnel', () => {
  let proxy: Awaited<ReturnType<typeof connectProxy>>
  let guarded: Awaited<ReturnType<typeof connectProxy>>
  let trusted: TestServer
  let untrusted: TestServer
  let env: Record<string, string>
  beforeAll(async () => {
    trusted = await httpServer({certificate: ca.issue('secure', ['secure.internal'])})
    // A certificate of another CA, for the same name: only the tunnel's TLS verification tells them apart.
    untrusted = await httpServer({certificate: makeTestCa().issue('impostor', ['secure.internal'])})
    // Only the proxy knows where secure.internal is: an answer proves the request went through the tunnel.
    proxy = await connectProxy({'secure.internal': '127.0.0.1'})
    guarded = await connectProxy({'secure.internal': '127.0.0.1'}, 'monitor:s3cret')
    running.push(trusted, untrusted, proxy, guarded)
    env = {
      TRUSTED: new URL(trusted.url).port,
      UNTRUSTED: new URL(untrusted.url).port,
      PROXY: String(proxy.port),
      GUARDED: String(guarded.port),
    }
  }, 30_000)

  const endpoint = (name: string, port: string, proxyUrl: string) =>
    `  - name: ${name}\n    url: "https://secure.internal:\${${port}}/json"\n    client:\n      proxy-url: "${proxyUrl}"\n    conditions: ["[STATUS] == 200", "[BODY].status == UP", "[CERTIFICATE_EXPIRATION] > 24h"]\n`

  it('verifies the destination’s certificate through the tunnel; phases add up to no more than the response time', async () => {
    const {code, results} = await runGatus(
      `endpoints:\n${endpoint('tunnelled', 'TRUSTED', 'http://127.0.0.1:${PROXY}')}${endpoint('impostor', 'UNTRUSTED', 'http://127.0.0.1:${PROXY}')}`,
      env,
    )
    expect(code).toBe(1)
    const tunnelled = results.get('tunnelled')!
    expect(tunnelled).toMatchObject({status: 'succeeded', httpStatus: 200, ip: '127.0.0.1'})
    // The test CA's certificates last two days.
    const expiresIn = Date.parse(tunnelled.certificateExpiresAt!) - Date.now()
    expect(expiresIn).toBeGreaterThan(24 * HOUR)
    expect(expiresIn).toBeLessThan(49 * HOUR)
    expect(Object.keys(tunnelled.phases).sort()).toEqual(['connect', 'tls', 'transfer', 'ttfb'])
    const spent = Object.values(tunnelled.phases).reduce((sum, ms) => sum + ms, 0)
    expect(spent).toBeLessThanOrEqual(tunnelled.responseTimeMs + 1)
    expect(proxy.tunnels).toContain(`secure.internal:${env.TRUSTED}`)

    const impostor = results.get('impostor')!
    expect(impostor.status).toBe('failed')
    expect(impostor.error).toEqual({code: 'tls', message: 'unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)'})
    expect(proxy.tunnels).toContain(`secure.internal:${env.UNTRUSTED}`)
  }, 30_000)

  it('sends the proxy URL’s credentials as Proxy-Authorization; a 407 is a protocol error naming the proxy, credentials masked', async () => {
    const {results} = await runGatus(
      `endpoints:\n${endpoint('with-credentials', 'TRUSTED', 'http://monitor:s3cret@127.0.0.1:${GUARDED}')}${endpoint('wrong-credentials', 'TRUSTED', 'http://monitor:nope@127.0.0.1:${GUARDED}')}`,
      env,
    )
    expect(results.get('with-credentials')).toMatchObject({status: 'succeeded', httpStatus: 200})
    const refused = results.get('wrong-credentials')!
    expect(refused.error).toEqual({
      code: 'protocol',
      message: `proxy http://monitor:***@127.0.0.1:${env.GUARDED}/ refused the tunnel to secure.internal:${env.TRUSTED}: HTTP 407 Proxy Authentication Required`,
    })
  }, 30_000)
})
