import {readFile} from 'node:fs/promises'

import {LineCounter, isMap, isScalar, isSeq, parseDocument} from 'yaml'
import type {Node, YAMLMap} from 'yaml'

import {UsageError} from '../cli/errors.js'
import {parseCount, parseDuration} from '../cli/values.js'
import {parseCondition} from './conditions.js'
import type {Check, CheckDefaults} from './check.js'
import {defaultConditions, displayUrl, parseMethod, parseUrl} from './check.js'

const DEFAULT_KEYS = ['timeout', 'retries', 'retry-delay', 'insecure', 'headers'] as const
const CHECK_KEYS = ['name', 'group', 'tags', 'url', 'method', 'headers', 'body', 'timeout', 'retries', 'insecure', 'conditions'] as const

export interface CheckFile {
  checks: Check[]
  /** `defaults.retry-delay`: the first backoff delay, when the file sets one. */
  retryDelayMs?: number
}

/**
 * A Gatus-like check file: `defaults` and `checks`, with `${ENV}` substitution. Anything off — an unknown key, a
 * bad duration, an unknown placeholder in a condition — is a UsageError naming `file:line` and the fix.
 */
export async function loadCheckFile(path: string, cli: CheckDefaults, env: NodeJS.ProcessEnv = process.env): Promise<CheckFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read check file "${path}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, uniqueKeys: true})
  const syntax = doc.errors[0]
  if (syntax) {
    throw new UsageError(`${path}:${syntax.linePos?.[0]?.line ?? 1}: invalid YAML: ${syntax.message.split('\n')[0]}`)
  }
  const reader = new Reader(path, lines, env)
  const root = doc.contents
  if (!isMap(root)) throw reader.error(root, 'expected a mapping with `checks:` (and optionally `defaults:`)')
  reader.keys(root, ['defaults', 'checks'])
  const defaultsNode = root.get('defaults', true) as Node | undefined
  const defaults: CheckDefaults = {...cli}
  let retryDelayMs: number | undefined
  if (defaultsNode) {
    const map = reader.map(defaultsNode, 'defaults')
    reader.keys(map, DEFAULT_KEYS)
    Object.assign(defaults, reader.settings(map, cli))
    const delay = map.get('retry-delay', true) as Node | undefined
    if (delay) retryDelayMs = reader.duration(delay, 'retry-delay')
  }
  const checksNode = root.get('checks', true) as Node | undefined
  if (!checksNode) throw reader.error(root, 'no `checks:` list; add one entry per backend with at least a url')
  if (!isSeq(checksNode) || checksNode.items.length === 0) throw reader.error(checksNode, '`checks` must be a non-empty list')
  const checks = checksNode.items.map((item) => reader.check(item as Node, defaults))
  const seen = new Map<string, string>()
  for (const check of checks) {
    const key = `${check.group ?? ''}\u0000${check.name}`
    const first = seen.get(key)
    if (first) throw new UsageError(`${check.where}: duplicate check name "${check.name}" (first at ${first}); give each check its own name`)
    seen.set(key, check.where)
  }
  return {checks, retryDelayMs}
}

/** Reads typed values off YAML nodes, every error pointing at the node's line. */
class Reader {
  constructor(
    private readonly path: string,
    private readonly lines: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  where(node: Node | null | undefined): string {
    const offset = node?.range?.[0]
    return `${this.path}:${offset === undefined ? 1 : this.lines.linePos(offset).line}`
  }

  error(node: Node | null | undefined, message: string): UsageError {
    return new UsageError(`${this.where(node)}: ${message}`)
  }

  map(node: Node, name: string): YAMLMap {
    if (!isMap(node)) throw this.error(node, `\`${name}\` must be a mapping of keys to values`)
    return node
  }

  keys(map: YAMLMap, allowed: readonly string[]): void {
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      if (!allowed.includes(key)) {
        throw this.error(pair.key as Node, `unknown key "${key}"; expected one of: ${allowed.join(', ')}`)
      }
    }
  }

  /** A scalar as a string, with `${VAR}` and `${VAR:-fallback}` replaced from the environment. */
  string(node: Node, name: string): string {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
      throw this.error(node, `\`${name}\` must be a single value`)
    }
    return String(node.value).replaceAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, variable: string, fallback?: string) => {
      const value = this.env[variable] ?? fallback
      if (value === undefined) throw this.error(node, `environment variable ${variable} is not set; set it or write \${${variable}:-default}`)
      return value
    })
  }

  duration(node: Node, name: string): number {
    return this.parsed(node, name, parseDuration)
  }

  count(node: Node, name: string): number {
    return this.parsed(node, name, parseCount)
  }

  /** A scalar through one of the CLI's value parsers, whose error says what it accepts. */
  private parsed(node: Node, name: string, parse: (text: string) => number): number {
    const text = this.string(node, name)
    try {
      return parse(text)
    } catch (error) {
      throw this.error(node, `\`${name}\` expects ${(error as UsageError).line}; got "${text}"`)
    }
  }

  boolean(node: Node, name: string): boolean {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value
    throw this.error(node, `\`${name}\` must be true or false`)
  }

  strings(node: Node, name: string): string[] {
    if (!isSeq(node)) throw this.error(node, `\`${name}\` must be a list`)
    return node.items.map((item) => this.string(item as Node, name))
  }

  headers(node: Node): Record<string, string> {
    const map = this.map(node, 'headers')
    const headers: Record<string, string> = {}
    for (const pair of map.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      headers[name.toLowerCase()] = this.string(pair.value as Node, `headers.${name}`)
    }
    return headers
  }

  /** timeout, retries, insecure and headers: shared by `defaults` and each check, each falling back to `base`. */
  settings(map: YAMLMap, base: CheckDefaults): CheckDefaults {
    const get = (key: string) => map.get(key, true) as Node | undefined
    const timeout = get('timeout')
    const retries = get('retries')
    const insecure = get('insecure')
    const headers = get('headers')
    return {
      timeoutMs: timeout ? this.duration(timeout, 'timeout') : base.timeoutMs,
      retries: retries ? this.count(retries, 'retries') : base.retries,
      insecure: insecure ? this.boolean(insecure, 'insecure') : base.insecure,
      headers: headers ? {...base.headers, ...this.headers(headers)} : base.headers,
    }
  }

  check(node: Node, defaults: CheckDefaults): Check {
    const map = this.map(node, 'each check')
    this.keys(map, CHECK_KEYS)
    const where = this.where(node)
    const get = (key: string) => map.get(key, true) as Node | undefined
    const urlNode = get('url')
    if (!urlNode) throw this.error(node, 'check has no `url`; add one, e.g. url: https://api.internal/health')
    const url = this.url(urlNode)
    const text = (key: string) => {
      const value = get(key)
      return value ? this.string(value, key) : undefined
    }
    const conditionsNode = get('conditions')
    const conditions = conditionsNode
      ? (isSeq(conditionsNode) ? conditionsNode.items : [conditionsNode]).map((item) =>
          parseCondition(this.string(item as Node, 'conditions'), this.where(item as Node)),
        )
      : defaultConditions(url)
    const body = text('body')
    return {
      ...this.settings(map, defaults),
      name: text('name') ?? displayUrl(url),
      group: text('group'),
      tags: get('tags') ? this.strings(get('tags')!, 'tags') : [],
      url,
      method: parseMethod(text('method') ?? (body === undefined ? 'GET' : 'POST'), this.where(get('method') ?? node)),
      body,
      conditions,
      where,
    }
  }

  url(node: Node): URL {
    return parseUrl(this.string(node, 'url'), this.where(node))
  }
}
