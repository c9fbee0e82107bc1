/**
 * Gatus endpoints over secured transports, with certificates of a CA made for the run (trusted through
 * NODE_EXTRA_CA_CERTS, so verification is real): https through an HTTP proxy's CONNECT tunnel; SSH logins with a
 * private key made by the test; grpcs:// health checks.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {connectProxy, grpcHealthServer, helperServer, sshKeyPair, sshServer} from '../helpers/protocol-servers.js'
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
  const file = await configFile(config)
  const run = await fanout(['healthcheck', '--file', file, '--json', '--timeout', '10s'], {env: {NODE_EXTRA_CA_CERTS: ca.caFile, ...env}})
  const results = new Map((parseJsonDocument(run.stdout).results as Result[]).map((result) => [result.name, result]))
  return {code: run.code, stderr: run.stderr, results}
}

async function configFile(config: string): Promise<string> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(file, config)
  return file
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

  it('http:// through a proxy URL with credentials: the request for the whole URL carries them as Proxy-Authorization', async () => {
    const forward = await helperServer(new Date())
    running.push(forward)
    const basic = `Basic ${Buffer.from('monitor:s3cret').toString('base64')}`
    const {results} = await runGatus(
      `endpoints:\n  - name: forwarded\n    url: http://backend.internal/status\n    client:\n      proxy-url: "http://monitor:s3cret@127.0.0.1:${forward.port}"\n    conditions:\n      - '[BODY].requestLine == "GET http://backend.internal/status"'\n      - '[BODY].proxyAuthorization == "${basic}"'\n`,
    )
    expect(results.get('forwarded')).toMatchObject({status: 'succeeded'})
  }, 30_000)
})

describe('ssh.private-key: public key authentication, as Gatus has it', () => {
  const plain = sshKeyPair()
  const encrypted = sshKeyPair({passphrase: 'open sesame', cipher: 'aes256-ctr', rounds: 16})
  const stranger = sshKeyPair()
  let server: Awaited<ReturnType<typeof sshServer>>
  let env: Record<string, string>
  beforeAll(async () => {
    server = await sshServer({username: 'deploy', password: 'pw', publicKey: plain.public})
    const other = await sshServer({username: 'deploy', publicKey: encrypted.public})
    running.push(server, other)
    env = {SSH_PORT: String(server.port), OTHER_PORT: String(other.port)}
  }, 30_000)

  // The key itself in the value, as a YAML block (Gatus parses the value; no file is opened).
  const key = (text: string) => `      private-key: |\n${text.trim().split('\n').map((line) => `        ${line}\n`).join('')}`
  const endpoint = (name: string, port: string, ssh: string) =>
    `  - name: ${name}\n    url: "ssh://127.0.0.1:\${${port}}"\n    ssh:\n${ssh}    body: exit 4\n    conditions: ["[CONNECTED] == true", "[STATUS] == 4"]\n`

  it('logs in with a key, an encrypted key and its passphrase; a key the server does not know is auth', async () => {
    const {results} = await runGatus(
      'endpoints:\n' +
        endpoint('key', 'SSH_PORT', '      username: deploy\n' + key(plain.private)) +
        endpoint('encrypted-key', 'OTHER_PORT', '      username: deploy\n' + key(encrypted.private) + '      passphrase: open sesame\n') +
        endpoint('unknown-key', 'SSH_PORT', '      username: deploy\n' + key(stranger.private)),
      env,
    )
    expect(results.get('key')).toMatchObject({status: 'succeeded', httpStatus: 4})
    expect(results.get('encrypted-key')).toMatchObject({status: 'succeeded', httpStatus: 4})
    expect(results.get('unknown-key')!.error).toEqual({code: 'auth', message: 'the SSH server refused the login of "deploy"'})
  }, 30_000)

  it('with a key and a password, offers the key first, as Gatus does', async () => {
    server.methods.length = 0
    const {results} = await runGatus(`endpoints:\n${endpoint('both', 'SSH_PORT', '      username: deploy\n      password: wrong\n' + key(plain.private))}`, env)
    expect(results.get('both')).toMatchObject({status: 'succeeded'})
    expect(server.methods).not.toContain('password')
    expect(server.methods).toContain('publickey')
  }, 30_000)

  it('a key that cannot be read, or a wrong passphrase, is exit 2 at file:line before anything runs', async () => {
    const cases = [
      ['      username: deploy\n      private-key: /home/deploy/.ssh/id_ed25519\n', 'ssh.private-key cannot be used (Unsupported key format)'],
      ['      username: deploy\n' + key(encrypted.private) + '      passphrase: wrong\n', 'ssh.private-key cannot be used ('],
      ['      username: deploy\n      passphrase: x\n', 'ssh.passphrase is for a private key'],
    ]
    for (const [ssh, message] of cases) {
      const file = await configFile(`endpoints:\n${endpoint('bad', 'SSH_PORT', ssh!)}`)
      const run = await fanout(['healthcheck', '--validate', file], {env})
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`${file}:`)
      expect(run.stderr).toContain(message)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
  }, 30_000)
})

describe('grpcs://: the gRPC health check over TLS', () => {
  let env: Record<string, string>
  beforeAll(async () => {
    const statuses = {'': 'SERVING', orders: 'NOT_SERVING'}
    const trusted = await grpcHealthServer(statuses, ca.issue('grpc', ['127.0.0.1', 'localhost']))
    const other = makeTestCa()
    const untrusted = await grpcHealthServer(statuses, other.issue('grpc-impostor', ['127.0.0.1', 'localhost']))
    const otherName = await grpcHealthServer(statuses, ca.issue('grpc-elsewhere', ['elsewhere.internal']))
    running.push(trusted, untrusted, otherName)
    // grpc-js alone would trust only this file's CA (some images set it): grpcs:// trusts what https:// does instead.
    env = {TRUSTED: String(trusted.port), UNTRUSTED: String(untrusted.port), OTHER_NAME: String(otherName.port), GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: other.caFile}
  }, 30_000)

  const endpoint = (name: string, url: string, extra = '') => `  - name: ${name}\n    url: "${url}"\n${extra}    conditions: ["[BODY].status == SERVING"]\n`

  it('a certificate the CA signed for the address: the server’s and a service’s status, whatever GRPC_DEFAULT_SSL_ROOTS_FILE_PATH says', async () => {
    const {results} = await runGatus(
      'endpoints:\n' + endpoint('server', 'grpcs://127.0.0.1:${TRUSTED}') + endpoint('orders', 'grpcs://localhost:${TRUSTED}/orders'),
      env,
    )
    expect(results.get('server')).toMatchObject({status: 'succeeded', conditions: [{ok: true, actual: '[BODY].status (SERVING) == SERVING'}]})
    expect(results.get('orders')).toMatchObject({status: 'failed', conditions: [{ok: false, actual: '[BODY].status (NOT_SERVING) == SERVING'}]})
  }, 30_000)

  it('a certificate nobody trusts, or for another name, is a tls error; client.insecure still gets the answer', async () => {
    const {results} = await runGatus(
      'endpoints:\n' +
        endpoint('untrusted', 'grpcs://127.0.0.1:${UNTRUSTED}') +
        endpoint('other-name', 'grpcs://127.0.0.1:${OTHER_NAME}') +
        endpoint('insecure', 'grpcs://127.0.0.1:${UNTRUSTED}', '    client:\n      insecure: true\n'),
      env,
    )
    expect(results.get('untrusted')).toMatchObject({status: 'failed', error: {code: 'tls'}})
    expect(results.get('untrusted')!.error!.message).toBe('gRPC over TLS: unable to verify the first certificate')
    expect(results.get('other-name')).toMatchObject({status: 'failed', error: {code: 'tls'}})
    expect(results.get('other-name')!.error!.message).toContain('127.0.0.1')
    expect(results.get('insecure')).toMatchObject({status: 'succeeded'})
  }, 30_000)
})
