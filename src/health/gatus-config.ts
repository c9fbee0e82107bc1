import {readFileSync} from 'node:fs'

import ssh2 from 'ssh2'

import {lineAt} from '../cli/line-at.js'

import type {Check, CheckDefaults, ClientSettings} from './check.js'
import {defaultConditions, parseMethod, parseUrl} from './check.js'
import {oauth2ClientCredentials} from './oauth2.js'
import type {Resolver} from './types.js'
import type {Where, YamlNode} from '../cli/yaml-node.js'
import {YamlReader} from './yaml-reader.js'

const sshUtils = ssh2.utils

export interface GatusFile {
  path: string
  text: string
}

/** A Gatus configuration, told from fanout's own check file by its top-level lists. */
export function isGatusConfig(text: string): boolean {
  return /^(endpoints|external-endpoints)\s*:/m.test(text)
}

/** Keys that only mean something to a Gatus server, and why fanout passes them by. */
const SERVER_ONLY: Record<string, string> = {
  alerting: 'alerting is not run',
  alerts: 'alerting is not run',
  'maintenance-windows': 'fanout checks when it is run',
  maintenance: 'fanout checks when it is run',
  storage: 'fanout keeps no history (its reports are files)',
  web: 'fanout serves no dashboard',
  ui: 'fanout serves no dashboard (--format html writes a page)',
  security: 'fanout serves nothing to protect',
  metrics: 'fanout serves metrics with --metrics-addr',
  concurrency: '--workers sets how many checks run at once',
  'skip-invalid-config-update': 'fanout reads its configuration once',
  'disable-monitoring-lock': 'fanout reads its configuration once',
  debug: 'DEBUG=1 is fanout\'s switch',
  connectivity: 'every check runs; an offline runner fails them all',
  announcements: 'fanout serves no dashboard',
  'hide-conditions': 'fanout serves no dashboard',
  'hide-errors': 'fanout serves no dashboard',
  'dont-resolve-failed-conditions': 'fanout always shows the value a failed condition saw',
  badge: 'fanout serves no dashboard',
  renegotiation: 'Node renegotiates as a client as OpenSSL allows',
}

const TOP_KEYS = ['endpoints', 'external-endpoints']
const ENDPOINT_KEYS = ['enabled', 'name', 'group', 'url', 'method', 'body', 'graphql', 'headers', 'interval', 'conditions', 'client', 'dns', 'ssh', 'ui', 'extra-labels']
const ENDPOINT_IGNORED = ['alerts', 'maintenance-windows']
const CLIENT_KEYS = ['insecure', 'ignore-redirect', 'timeout', 'dns-resolver', 'network', 'tls', 'proxy-url', 'oauth2']
/** Client settings Gatus has that fanout cannot honour: refused, since the check would not be the one written. */
const CLIENT_UNSUPPORTED: Record<string, string> = {
  'identity-aware-proxy': 'Google IAP tokens need Google credentials fanout does not fetch',
  kerberos: 'fanout does not speak SPNEGO',
  tunnel: 'SSH tunnels are not supported; run fanout where the endpoint is reachable',
}
const TLS_KEYS = ['certificate-file', 'private-key-file']
const TLS_IGNORED = ['renegotiation']
const OAUTH2_KEYS = ['token-url', 'client-id', 'client-secret', 'scopes']
const DNS_KEYS = ['query-type', 'query-name']
const DNS_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SRV', 'TXT', 'SOA', 'CAA']
const SSH_KEYS = ['username', 'password', 'private-key', 'passphrase']
const UI_KEYS = ['hide-url', 'hide-hostname', 'hide-port']
const UI_IGNORED = ['hide-conditions', 'hide-errors', 'dont-resolve-failed-conditions', 'badge']
const EXTERNAL_KEYS = ['enabled', 'name', 'group', 'token', 'alerts', 'heartbeat']
/** Top-level keys of a Gatus server's configuration that fanout reads past. */
const TOP_IGNORED = ['alerting', 'storage', 'web', 'ui', 'security', 'metrics', 'maintenance', 'concurrency', 'debug', 'connectivity', 'announcements', 'skip-invalid-config-update', 'disable-monitoring-lock']
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
/** Labels fanout's series already carry. */
const OWN_LABELS = new Set(['target', 'name', 'phase', 'group'])

/** What was read and not used, said once per key: `alerts (3 endpoints, first at a.yaml:12) ignored by fanout: …`. */
class Notes {
  private readonly seen = new Map<string, {count: number; where: Where; line: (count: number, where: Where) => string}>()

  add(key: string, where: Where, line: (count: number, where: Where) => string): void {
    const known = this.seen.get(key)
    if (known) known.count++
    else this.seen.set(key, {count: 1, where, line})
  }

  ignored(key: string, where: Where, what: string): void {
    this.add(key, where, (count, first) => `${key} (${count === 1 ? `at ${first}` : `${count} ${what}s, first at ${first}`}) ignored by fanout: ${SERVER_ONLY[key]}`)
  }

  lines(): string[] {
    return [...this.seen.values()].map(({count, where, line}) => line(count, where))
  }
}

/**
 * Gatus configuration files as Gatus reads them: `$VAR`/`${VAR}` expanded in the text first (`$$` is a `$`; an unset
 * variable becomes empty, as in Gatus, and is noted), `endpoints` of every file concatenated, a top-level value set in
 * two files refused, server-only keys noted once and otherwise passed by. An unknown key is exit 2 with `file:line`.
 */
export function gatusChecks(files: GatusFile[], cli: CheckDefaults, env: NodeJS.ProcessEnv): {checks: Check[]; notes: string[]} {
  const notes = new Notes()
  const checks: Check[] = []
  const topLevel = new Map<string, Where>()
  let disabled = 0
  for (const file of files) {
    const text = expandEnv(file, env, notes)
    const reader = new GatusReader(file.path, text, undefined)
    const root = reader.root
    if (!root.isMap) throw reader.error(root, 'expected a mapping with `endpoints:`')
    for (const {key, keyNode, value} of root.pairs()) {
      const where = reader.where(keyNode)
      if (TOP_IGNORED.includes(key)) notes.ignored(key, where, 'file')
      else if (!TOP_KEYS.includes(key)) throw reader.error(keyNode, `unknown key "${key}"; expected one of: ${[...TOP_KEYS, ...TOP_IGNORED].join(', ')}`)
      // Gatus merges files deeply: lists add up, a plain value set twice is an error.
      if (!value.isMap && !value.isSeq) {
        const first = topLevel.get(key)
        if (first) throw reader.error(keyNode, `"${key}" is also set at ${first}; set it in one file only`)
        topLevel.set(key, where)
      }
    }
    const endpoints = root.get('endpoints')
    if (endpoints) {
      for (const item of reader.list(endpoints, 'endpoints')) {
        const check = reader.endpoint(item, cli, notes)
        if (check) checks.push(check)
        else disabled++
      }
    }
    const external = root.get('external-endpoints')
    if (external) {
      for (const item of reader.list(external, 'external-endpoints')) {
        const map = reader.map(item, 'each external endpoint')
        reader.keys(map, EXTERNAL_KEYS)
        if (!map.get('name')) throw reader.error(item, 'external endpoint has no `name`; Gatus needs one')
        notes.add('external-endpoints', reader.where(item), (count, first) =>
          `external-endpoints (${count}, first at ${first}) not checked by fanout: their results are pushed to a Gatus server, there is nothing to probe`,
        )
      }
    }
  }
  const lines = notes.lines()
  if (disabled > 0) lines.push(`${disabled} endpoint${disabled === 1 ? '' : 's'} with enabled: false, not run`)
  return {checks, notes: lines}
}

/** os.ExpandEnv as Gatus applies it to the whole file: `${VAR}` and `$VAR`; `$$` stays a literal `$`. */
function expandEnv(file: GatusFile, env: NodeJS.ProcessEnv, notes: Notes): string {
  return file.text.replace(/\$\$|\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (match, braced: string | undefined, bare: string | undefined, offset: number) => {
    if (match === '$$') return '$'
    const name = (braced ?? bare)!
    const value = env[name]
    if (value === undefined) {
      notes.add(`env:${name}`, `${file.path}:${lineAt(file.text, offset)}`, (count, first) =>
        `environment variable ${name} is not set (${count === 1 ? first : `${count} uses, first at ${first}`}): Gatus reads it as empty, and so does fanout`,
      )
    }
    return value ?? ''
  })
}

class GatusReader extends YamlReader {
  list(node: YamlNode, name: string): YamlNode[] {
    if (!node.isSeq) throw this.error(node, `\`${name}\` must be a list`)
    return node.items()
  }

  /** `keys` that also notes the `ignored` ones (read past, said once) instead of refusing them. */
  section(map: YamlNode, used: string[], ignored: string[], notes: Notes, what: string): void {
    for (const {key, keyNode} of map.pairs()) {
      if (key in CLIENT_UNSUPPORTED && used === CLIENT_KEYS) throw this.error(keyNode, `client.${key} is not supported: ${CLIENT_UNSUPPORTED[key]}`)
      if (ignored.includes(key)) notes.ignored(key, this.where(keyNode), what)
      else if (!used.includes(key)) throw this.error(keyNode, `unknown key "${key}"; expected one of: ${[...used, ...ignored].join(', ')}`)
    }
  }

  /** One endpoint as a check; undefined when it is disabled. */
  endpoint(node: YamlNode, cli: CheckDefaults, notes: Notes): Check | undefined {
    const map = this.map(node, 'each endpoint')
    this.section(map, ENDPOINT_KEYS, ENDPOINT_IGNORED, notes, 'endpoint')
    if (this.flag(map, 'enabled') === false) return undefined
    const name = this.text(map, 'name')
    if (!name) throw this.error(node, 'endpoint has no `name`; Gatus needs one, e.g. name: api')
    const urlNode = map.get('url')
    if (!urlNode) throw this.error(node, `endpoint "${name}" has no \`url\`; add one, e.g. url: https://api.internal/health`)
    const client: ClientSettings = {}
    const dnsNode = map.get('dns')
    const url = dnsNode ? this.dnsServer(urlNode, dnsNode, client) : this.url(urlNode)
    const settings = this.client(map, cli, client, notes)
    const sshNode = map.get('ssh')
    if (sshNode) client.ssh = this.ssh(sshNode)
    const headers = map.get('headers')
    let body = this.text(map, 'body')
    const graphql = this.flag(map, 'graphql') ?? false
    const allHeaders = {...settings.headers, ...(headers ? this.headers(headers) : {})}
    // GraphQL as Gatus sends it: the body is the query, POSTed as JSON.
    if (graphql) {
      body = JSON.stringify({query: body ?? ''})
      allHeaders['content-type'] ??= 'application/json'
    }
    const methodNode = map.get('method')
    const method = parseMethod(methodNode ? this.string(methodNode, 'method') : graphql ? 'POST' : 'GET', this.where(methodNode ?? node))
    const conditionsNode = map.get('conditions')
    const interval = map.get('interval')
    const ui = map.get('ui')
    const labels = map.get('extra-labels')
    return {
      ...settings,
      headers: allHeaders,
      name,
      ...(this.text(map, 'group') === undefined ? {} : {group: this.text(map, 'group')}),
      tags: [],
      url,
      method,
      ...(body === undefined ? {} : {body}),
      conditions: conditionsNode ? this.conditions(conditionsNode) : defaultConditions(url),
      ...(Object.keys(client).length > 0 ? {client} : {}),
      ...(interval ? {intervalMs: this.duration(interval, 'interval')} : {}),
      ...(ui ? {hide: this.ui(ui, notes)} : {}),
      ...(labels ? {labels: this.labels(labels)} : {}),
      where: this.where(node),
    }
  }

  /**
   * Gatus's `ssh` block. `private-key` is the key itself (Gatus parses the value, it opens no file), checked now: a key
   * ssh2 cannot read, or an encrypted one without the right `passphrase`, is exit 2 here rather than a failed login
   * at every run.
   */
  private ssh(node: YamlNode): NonNullable<ClientSettings['ssh']> {
    const ssh = this.map(node, 'ssh')
    this.keys(ssh, SSH_KEYS)
    const privateKey = this.text(ssh, 'private-key')
    const passphrase = this.text(ssh, 'passphrase')
    if (passphrase !== undefined && !privateKey) throw this.error(ssh.get('passphrase'), 'ssh.passphrase is for a private key; add ssh.private-key or drop the passphrase')
    if (privateKey) {
      const parsed = sshUtils.parseKey(privateKey, passphrase)
      if (parsed instanceof Error) {
        throw this.error(ssh.get('private-key'), `ssh.private-key cannot be used (${parsed.message}); give the key itself, PEM or OpenSSH, as a YAML | block, with ssh.passphrase if it is encrypted`)
      }
    }
    return {
      username: this.text(ssh, 'username') ?? '',
      password: this.text(ssh, 'password') ?? '',
      ...(privateKey ? {privateKey} : {}),
      ...(passphrase === undefined ? {} : {passphrase}),
    }
  }

  /** A DNS endpoint's url is the server to ask: `8.8.8.8`, `host:5353`, `udp://…` or `tcp://…` (DNS over TCP). */
  private dnsServer(urlNode: YamlNode, dnsNode: YamlNode, client: ClientSettings): URL {
    const dns = this.map(dnsNode, 'dns')
    this.keys(dns, DNS_KEYS)
    const queryType = (this.text(dns, 'query-type') ?? '').toUpperCase()
    const queryName = this.text(dns, 'query-name')
    if (!DNS_TYPES.includes(queryType)) throw this.error(dns.get('query-type') ?? dnsNode, `dns.query-type must be one of ${DNS_TYPES.join(', ')}`)
    if (!queryName) throw this.error(dnsNode, 'dns.query-name is missing; write the name to ask about, e.g. query-name: example.org')
    const written = this.string(urlNode, 'url')
    const tcp = written.startsWith('tcp://')
    const server = written.replace(/^(udp|tcp|dns):\/\//, '')
    client.dns = {queryType, queryName, protocol: tcp ? 'tcp' : 'udp'}
    return parseUrl(`dns://${server}`, this.where(urlNode))
  }

  /** Gatus's `client` block over the command line's settings. */
  private client(map: YamlNode, cli: CheckDefaults, client: ClientSettings, notes: Notes): CheckDefaults {
    const settings = {...cli}
    const node = map.get('client')
    if (!node) return settings
    const block = this.map(node, 'client')
    this.section(block, CLIENT_KEYS, [], notes, 'endpoint')
    const insecure = this.flag(block, 'insecure')
    if (insecure !== undefined) settings.insecure = insecure
    const timeout = block.get('timeout')
    if (timeout) settings.timeoutMs = this.duration(timeout, 'client.timeout')
    if (this.flag(block, 'ignore-redirect')) client.ignoreRedirects = true
    const resolverNode = block.get('dns-resolver')
    if (resolverNode) client.resolver = this.resolver(resolverNode)
    const network = this.text(block, 'network')
    if (network !== undefined) {
      if (!['ip', 'ip4', 'ip6'].includes(network)) throw this.error(block.get('network'), 'client.network must be ip, ip4 or ip6')
      if (network !== 'ip') client.family = network === 'ip4' ? 4 : 6
    }
    const proxy = block.get('proxy-url')
    if (proxy) {
      const text = this.string(proxy, 'proxy-url')
      if (!/^http:\/\//.test(text)) throw this.error(proxy, 'client.proxy-url must be an http:// URL of an HTTP proxy')
      client.proxy = new URL(text)
    }
    const tls = block.get('tls')
    if (tls) client.clientCertificate = this.certificate(tls, notes)
    const oauth2 = block.get('oauth2')
    if (oauth2) {
      const settingsMap = this.map(oauth2, 'oauth2')
      this.keys(settingsMap, OAUTH2_KEYS)
      const scopes = settingsMap.get('scopes')
      const [tokenUrl, clientId, clientSecret] = ['token-url', 'client-id', 'client-secret'].map((key) => this.text(settingsMap, key))
      if (!tokenUrl || !clientId || !clientSecret || !scopes) {
        throw this.error(oauth2, 'client.oauth2 needs token-url, client-id, client-secret and scopes (the client credentials flow)')
      }
      client.authorize = oauth2ClientCredentials({tokenUrl: parseUrl(tokenUrl, this.where(oauth2)), clientId, clientSecret, scopes: this.strings(scopes, 'scopes'), insecure: settings.insecure})
    }
    return settings
  }

  private resolver(node: YamlNode): Resolver {
    const text = this.string(node, 'dns-resolver')
    const match = /^(udp|tcp):\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(text)
    const port = Number(match?.[3])
    if (!match || port < 1 || port > 65_535) throw this.error(node, `client.dns-resolver must be udp://HOST:PORT or tcp://HOST:PORT; got "${text}"`)
    return {protocol: match[1] as Resolver['protocol'], host: match[2]!.replace(/^\[(.*)\]$/, '$1'), port}
  }

  /** Client certificate and key for mutual TLS, read now: a missing file is exit 2 before anything runs. */
  private certificate(node: YamlNode, notes: Notes): {cert: Buffer; key: Buffer} {
    const tls = this.map(node, 'tls')
    this.section(tls, TLS_KEYS, TLS_IGNORED, notes, 'endpoint')
    const read = (key: string) => {
      const path = this.text(tls, key)
      if (!path) throw this.error(node, 'client.tls needs certificate-file and private-key-file (PEM)')
      try {
        return readFileSync(path)
      } catch (error) {
        throw this.error(tls.get(key), `cannot read client.tls.${key} "${path}" (${(error as NodeJS.ErrnoException).code}); check the path`)
      }
    }
    return {cert: read('certificate-file'), key: read('private-key-file')}
  }

  private ui(node: YamlNode, notes: Notes): {url: boolean; hostname: boolean; port: boolean} {
    const ui = this.map(node, 'ui')
    this.section(ui, UI_KEYS, UI_IGNORED, notes, 'endpoint')
    return {url: this.flag(ui, 'hide-url') ?? false, hostname: this.flag(ui, 'hide-hostname') ?? false, port: this.flag(ui, 'hide-port') ?? false}
  }

  private labels(node: YamlNode): Record<string, string> {
    const labels: Record<string, string> = {}
    for (const {key: name, keyNode, value} of this.map(node, 'extra-labels').pairs()) {
      if (!LABEL_NAME.test(name) || OWN_LABELS.has(name) || name.startsWith('__')) {
        throw this.error(keyNode, `extra-labels: "${name}" cannot be a Prometheus label name; use letters, digits and _ (not target, name, phase or group)`)
      }
      labels[name] = this.string(value, `extra-labels.${name}`)
    }
    return labels
  }
}
