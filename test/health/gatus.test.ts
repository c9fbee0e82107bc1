/**
 * Gatus configuration as Gatus documents it, split in two files of one directory, against servers of every kind the
 * test starts on loopback.
 */
import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {
  CLIENT_CERTIFICATE_FILES,
  dnsServer,
  grpcHealthServer,
  helperServer,
  mutualTlsServer,
  smtpServer,
  sshServer,
  udpEcho,
  webSocketEcho,
} from '../helpers/protocol-servers.js'
import type {Running} from '../helpers/protocol-servers.js'
import {closedPort, httpServer} from '../helpers/servers.js'
import type {TestServer} from '../helpers/servers.js'
import {hasProgram} from '../helpers/system-program.js'

const DAY = 24 * 3600 * 1000
let http: TestServer
let servers: Record<string, Running>
let helper: Awaited<ReturnType<typeof helperServer>>
let env: Record<string, string>
let dir: string

beforeAll(async () => {
  http = await httpServer()
  helper = await helperServer(new Date(Date.now() + 400 * DAY))
  servers = {
    dns: await dnsServer({'api.test': ['127.0.0.1']}),
    ssh: await sshServer({username: 'monitor', password: 'hunter2'}),
    grpc: await grpcHealthServer({'': 'SERVING', orders: 'NOT_SERVING'}),
    ws: await webSocketEcho(),
    smtp: await smtpServer(),
    udp: await udpEcho(),
    mtls: await mutualTlsServer(),
  }
  env = {
    HTTP: http.url,
    HELPER_PORT: String(helper.port),
    ...Object.fromEntries(Object.entries(servers).map(([name, server]) => [`${name.toUpperCase()}_PORT`, String(server.port)])),
    SSH_PASSWORD: 'hunter2',
  }
  dir = await mkdtemp(join(tmpdir(), 'fanout-gatus-'))
  await mkdir(join(dir, 'config'))
  await writeFile(join(dir, 'config', 'a-http.yaml'), HTTP_CONFIG)
  await writeFile(join(dir, 'config', 'b-protocols.yml'), PROTOCOLS_CONFIG)
}, 30_000)
afterAll(async () => {
  await Promise.all([http.close(), helper.close(), ...Object.values(servers).map((server) => server.close())])
})

const HTTP_CONFIG = `# Gatus's own layout: what only a Gatus server uses is read past, once noted.
storage:
  type: sqlite
  path: /data/data.db
web:
  port: 8080
ui:
  title: Health
alerting:
  slack:
    webhook-url: "https://hooks.slack.example/services/x"
security:
  basic:
    username: admin
    password-bcrypt-base64: "JDJhJDEwJE"
endpoints:
  - name: api
    group: core
    url: "\${HTTP}/json"
    interval: 30s
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
      - "len([BODY].items) == 3"
      - "[BODY].items[0] < [BODY].items[2]"
      - "[RESPONSE_TIME] < 2000"
    alerts:
      - type: slack
        send-on-resolved: true
    maintenance-windows:
      - start: "23:00"
        duration: 1h
    extra-labels:
      team: platform
  - name: post-echo
    group: core
    url: $HTTP/echo
    method: POST
    body: '{"ping":1}'
    headers:
      Content-Type: application/json
      X-Price: "$$5"
    conditions:
      - "[BODY].method == POST"
      - "[BODY].headers.x-price == $$5"
      - "[STATUS] == any(200, 201)"
  - name: graphql
    url: "\${HTTP}/echo"
    graphql: true
    body: "{ health { status } }"
    conditions:
      - "[BODY].method == POST"
      - "[BODY].body == pat(*health*)"
      - "[BODY].headers.content-type == application/json"
  - name: switched-off
    enabled: false
    url: http://127.0.0.1:1/
    conditions: ["[STATUS] == 200"]
  - name: redirect-as-is
    url: "\${HTTP}/redirect-to?url=/ok"
    client:
      ignore-redirect: true
    conditions: ["[STATUS] == 302"]
  - name: mutual-tls
    url: "https://127.0.0.1:\${MTLS_PORT}/"
    client:
      insecure: true
      tls:
        certificate-file: ${CLIENT_CERTIFICATE_FILES.cert}
        private-key-file: ${CLIENT_CERTIFICATE_FILES.key}
    conditions:
      - "[BODY].client == fanout-healthcheck-client"
      - "[CERTIFICATE_EXPIRATION] > 48h"
  - name: oauth2
    url: "http://127.0.0.1:\${HELPER_PORT}/whoami"
    client:
      oauth2:
        token-url: "http://127.0.0.1:\${HELPER_PORT}/token"
        client-id: client
        client-secret: secret
        scopes: ["health"]
    conditions: ["[BODY].authorization == pat(Bearer token-*-health)"]
  - name: proxied
    url: http://backend.internal/status
    client:
      proxy-url: "http://127.0.0.1:\${HELPER_PORT}"
    conditions:
      - "[BODY].host == backend.internal"
      - '[BODY].requestLine == "GET http://backend.internal/status"'
  - name: own-resolver
    url: "http://api.test:\${HELPER_PORT}/host"
    client:
      dns-resolver: "udp://127.0.0.1:\${DNS_PORT}"
      network: ip4
      timeout: 3s
    conditions:
      - "[IP] == 127.0.0.1"
      - "[BODY].host == api.test:\${HELPER_PORT}"
      - "[DOMAIN_EXPIRATION] > 720h"
  - name: secret
    group: hidden
    url: "\${HTTP}/status/503?token=s3cret"
    ui:
      hide-url: true
      hide-hostname: true
      hide-conditions: true
    conditions: ["[STATUS] == 200"]
external-endpoints:
  - name: nightly-backup
    group: jobs
    token: "\${BACKUP_TOKEN}"
    heartbeat:
      interval: 25h
`

const PROTOCOLS_CONFIG = `endpoints:
  - name: dns
    group: protocols
    url: "127.0.0.1:\${DNS_PORT}"
    dns:
      query-name: api.test
      query-type: A
    conditions: ["[DNS_RCODE] == NOERROR", "[BODY] == 127.0.0.1"]
  - name: dns-nxdomain-tcp
    group: protocols
    url: "tcp://127.0.0.1:\${DNS_PORT}"
    dns:
      query-name: nowhere.test
      query-type: A
    conditions: ["[DNS_RCODE] == NXDOMAIN"]
  - name: ssh
    group: protocols
    url: "ssh://127.0.0.1:\${SSH_PORT}"
    ssh:
      username: monitor
      password: "\${SSH_PASSWORD}"
    body: exit 3
    conditions: ["[CONNECTED] == true", "[STATUS] == 3"]
  - name: grpc
    group: protocols
    url: "grpc://127.0.0.1:\${GRPC_PORT}"
    conditions: ["[BODY].status == SERVING"]
  - name: websocket
    group: protocols
    url: "ws://127.0.0.1:\${WS_PORT}/"
    body: hello
    conditions: ["[CONNECTED] == true", "[BODY] == HELLO"]
  - name: smtp
    group: protocols
    url: "starttls://localhost:\${SMTP_PORT}"
    client:
      insecure: true
    conditions: ["[CONNECTED] == true", "[CERTIFICATE_EXPIRATION] > 720h"]
  - name: udp
    group: protocols
    url: "udp://127.0.0.1:\${UDP_PORT}"
    body: ping
    conditions: ['[BODY] == "pong: ping"']
  - name: tcp
    group: protocols
    url: "tcp://127.0.0.1:\${SSH_PORT}"
    conditions: ["[CONNECTED] == true"]
`

type Result = {name: string; group?: string; target: string; status: string; error?: {code: string; message: string}; conditions: {ok: boolean; actual: string}[]; labels?: Record<string, string>; dnsRcode?: string}

describe('a Gatus configuration directory, two files', () => {
  let run: Awaited<ReturnType<typeof fanout>>
  let results: Map<string, Result>
  beforeAll(async () => {
    run = await fanout(['healthcheck', '--file', join(dir, 'config'), '--json', '--rdap-url', `http://127.0.0.1:${helper.port}/rdap/`], {env})
    results = new Map((parseJsonDocument(run.stdout).results as Result[]).map((r) => [r.name, r]))
  }, 30_000)

  it('runs every enabled endpoint of both files; only the one meant to fail fails', () => {
    const failed = [...results.values()].filter((r) => r.status !== 'succeeded')
    expect(failed.map((r) => [r.name, r.error, r.conditions.filter((c) => !c.ok).map((c) => c.actual)])).toEqual([
      ['secret', {code: 'condition', message: '[STATUS] (503) == 200'}, ['[STATUS] (503) == 200']],
    ])
    expect([...results.keys()]).toEqual([
      'api', 'post-echo', 'graphql', 'redirect-as-is', 'mutual-tls', 'oauth2', 'proxied', 'own-resolver', 'secret',
      'dns', 'dns-nxdomain-tcp', 'ssh', 'grpc', 'websocket', 'smtp', 'udp', 'tcp',
    ])
    expect(run.code).toBe(1)
    expect(results.get('dns')).toMatchObject({dnsRcode: 'NOERROR'})
    expect(results.get('dns-nxdomain-tcp')).toMatchObject({dnsRcode: 'NXDOMAIN'})
    expect(results.get('api')).toMatchObject({group: 'core', labels: {team: 'platform'}})
    expect(helper.tokens()).toBe(1)
  })

  it('names once, on stderr, each server-only key it reads past, the external endpoints, the disabled endpoint, unset variables', () => {
    const lines = run.stderr.trim().split('\n')
    const file = join(dir, 'config', 'a-http.yaml')
    expect(lines).toEqual(
      expect.arrayContaining([
        `fanout healthcheck: storage (at ${file}:2) ignored by fanout: fanout keeps no history (its reports are files)`,
        `fanout healthcheck: alerting (at ${file}:9) ignored by fanout: alerting is not run`,
        `fanout healthcheck: alerts (at ${file}:27) ignored by fanout: alerting is not run`,
        `fanout healthcheck: ui (at ${file}:7) ignored by fanout: fanout serves no dashboard (--format html writes a page)`,
        expect.stringMatching(/^fanout healthcheck: external-endpoints \(1, first at .*a-http\.yaml:\d+\) not checked by fanout: their results are pushed to a Gatus server/),
        'fanout healthcheck: 1 endpoint with enabled: false, not run',
        expect.stringMatching(/environment variable BACKUP_TOKEN is not set .*: Gatus reads it as empty, and so does fanout$/),
      ]),
    )
    // Once each, however many endpoints have them.
    expect(lines.filter((line) => line.startsWith('fanout healthcheck: web'))).toHaveLength(1)
    expect(lines.filter((line) => line.startsWith('fanout healthcheck: alerts'))).toHaveLength(1)
  })

  it('ui.hide-url and hide-hostname keep the URL out of the JSON, the table, JUnit and Prometheus', async () => {
    const secret = results.get('secret')!
    expect(secret.target).toBe('<redacted>')
    for (const format of ['table', 'junit', 'prometheus']) {
      const other = await fanout(['healthcheck', '--file', join(dir, 'config', 'a-http.yaml'), '--format', format, '--all'], {env})
      expect(other.stdout).not.toContain('s3cret')
      expect(other.stdout).not.toContain('/status/503')
      if (format === 'prometheus') expect(other.stdout).toMatch(/probe_success\{target="[^"]*\/json",name="api",team="platform"\} 1/)
    }
    expect(JSON.stringify(results.get('secret'))).not.toContain('s3cret')
  }, 30_000)

  it('--validate reads the directory as a run would and runs nothing', async () => {
    const validated = await fanout(['healthcheck', '--validate', join(dir, 'config')], {env})
    expect(validated.code).toBe(0)
    expect(validated.stdout).toContain('17 checks, valid')
  })
})

describe('Gatus configuration errors: exit 2 with file:line', () => {
  async function validate(text: string, extraEnv: Record<string, string> = {}) {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.yaml`)
    await writeFile(file, text)
    const run = await fanout(['healthcheck', '--validate', file], {env: {...env, ...extraEnv}})
    return {...run, file}
  }

  it('an unknown key, top level or in an endpoint or its client', async () => {
    for (const [text, line, key] of [
      ['endpoints:\n  - name: a\n    url: http://x/\nstatuspage: 1\n', 4, 'statuspage'],
      ['endpoints:\n  - name: a\n    url: http://x/\n    intervall: 1m\n', 4, 'intervall'],
      ['endpoints:\n  - name: a\n    url: http://x/\n    client:\n      insecur: true\n', 5, 'insecur'],
    ] as const) {
      const run = await validate(text)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`${run.file}:${line}: unknown key "${key}"`)
    }
  })

  it('what fanout cannot honour is refused, not skipped', async () => {
    const run = await validate('endpoints:\n  - name: a\n    url: http://x/\n    client:\n      identity-aware-proxy:\n        audience: x\n')
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(':5: client.identity-aware-proxy is not supported')
    const resolver = await validate('endpoints:\n  - name: a\n    url: http://x/\n    client:\n      dns-resolver: 8.8.8.8\n')
    expect(resolver.stderr).toContain(':5: client.dns-resolver must be udp://HOST:PORT or tcp://HOST:PORT; got "8.8.8.8"')
  })

  it('a value set in two files of one configuration', async () => {
    const split = join(dir, 'split')
    await mkdir(split)
    await writeFile(join(split, 'a.yaml'), 'debug: true\nendpoints:\n  - name: a\n    url: http://x/\n')
    await writeFile(join(split, 'b.yaml'), 'debug: false\nendpoints:\n  - name: b\n    url: http://y/\n')
    const run = await fanout(['healthcheck', '--validate', split])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${join(split, 'b.yaml')}:1: "debug" is also set at ${join(split, 'a.yaml')}:1; set it in one file only`)
  })
})

describe('[DOMAIN_EXPIRATION] without a reachable RDAP service', () => {
  it('fails the check with an error naming the lookup', async () => {
    const port = await closedPort()
    const file = join(dir, 'domain.yaml')
    await writeFile(file, `endpoints:\n  - name: site\n    url: "\${HTTP}/ok"\n    conditions: ["[DOMAIN_EXPIRATION] > 720h"]\n`)
    const run = await fanout(['healthcheck', '--file', file, '--json', '--rdap-url', `http://127.0.0.1:${port}/`], {env: {HTTP: 'http://localhost:' + new URL(http.url).port}})
    expect(run.code).toBe(1)
    expect(parseJsonDocument(run.stdout).results[0].error).toEqual({
      code: 'refused',
      message: `RDAP lookup of localhost at http://127.0.0.1:${port}: connection refused by 127.0.0.1:${port}`,
    })
  })
})

describe('[DOMAIN_EXPIRATION] asks about the registered domain, by the Public Suffix List', () => {
  it('example.co.uk for www.shop.example.co.uk, github.io for a user’s github.io site, localhost as it is', async () => {
    const names = ['www.shop.example.co.uk', 'api.example.com', 'octocat.github.io', 'www.shop.nakahara.kawasaki.jp', 'deep.city.kawasaki.jp']
    const dns = await dnsServer(Object.fromEntries(names.map((name) => [name, ['127.0.0.1']])))
    const port = await closedPort()
    const endpoint = (name: string, host: string) =>
      `  - name: ${name}\n    url: "http://${host}:${new URL(http.url).port}/ok"\n    client:\n      dns-resolver: "udp://127.0.0.1:${dns.port}"\n    conditions: ["[DOMAIN_EXPIRATION] > 720h"]\n`
    const file = join(dir, 'registered-domains.yaml')
    await writeFile(file, `endpoints:\n${names.map((host) => endpoint(host, host)).join('')}${endpoint('localhost', 'localhost')}`)
    const run = await fanout(['healthcheck', '--file', file, '--json', '--rdap-url', `http://127.0.0.1:${port}/`])
    await dns.close()
    const asked = (parseJsonDocument(run.stdout).results as Result[]).map((r) => [r.name, /^RDAP lookup of (\S+) at/.exec(r.error?.message ?? '')?.[1]])
    expect(asked).toEqual([
      ['www.shop.example.co.uk', 'example.co.uk'],
      ['api.example.com', 'example.com'],
      // github.io is a private suffix: the registration is GitHub's, github.io itself.
      ['octocat.github.io', 'github.io'],
      // *.kawasaki.jp: every name under kawasaki.jp is a suffix, but for city.kawasaki.jp, the list's exception.
      ['www.shop.nakahara.kawasaki.jp', 'shop.nakahara.kawasaki.jp'],
      ['deep.city.kawasaki.jp', 'city.kawasaki.jp'],
      ['localhost', 'localhost'],
    ])
  })
})

describe('per-endpoint interval under --watch', () => {
  it('an endpoint with a long interval runs once; the others every round; every NDJSON line covers both', async () => {
    const file = join(dir, 'intervals.yaml')
    await writeFile(file, `endpoints:\n  - name: often\n    url: "\${HTTP}/ok"\n  - name: hourly\n    url: "\${HTTP}/ok"\n    interval: 1h\n`)
    const run = await fanout(['healthcheck', '--file', file, '--json', '--watch', '1s'], {env, interruptWhen: (stdout) => stdout.split('\n').length > 3})
    const rounds = run.stdout.trim().split('\n').map((line) => parseJsonDocument(line))
    expect(rounds.length).toBeGreaterThanOrEqual(3)
    const durations = (name: string) => new Set(rounds.map((round) => round.results.find((r: Result) => r.name === name).durationMs))
    expect(durations('hourly').size).toBe(1)
    expect(durations('often').size).toBeGreaterThan(1)
  }, 20_000)
})

describe.runIf(hasProgram('ping', 'iputils-ping'))('icmp:// through the system ping', () => {
  it('pings 127.0.0.1: connected, with its round-trip time', async () => {
    const file = join(dir, 'icmp.yaml')
    await writeFile(file, 'endpoints:\n  - name: loopback\n    url: icmp://127.0.0.1\n    conditions: ["[CONNECTED] == true", "[RESPONSE_TIME] < 1000"]\n')
    const run = await fanout(['healthcheck', '--file', file, '--json'])
    const [result] = parseJsonDocument(run.stdout).results
    expect(result).toMatchObject({status: 'succeeded', ip: '127.0.0.1'})
    expect(result.responseTimeMs).toBeGreaterThan(0)
    expect(result.responseTimeMs).toBeLessThan(1000)
  })
})
