import {UsageError} from '../cli/errors.js'
import {configFiles} from './config-files.js'
import {gatusChecks, isGatusConfig} from './gatus-config.js'
import type {GatusFile} from './gatus-config.js'
import type {YamlNode} from '../cli/yaml-node.js'
import {YamlReader, readConfigText} from './yaml-reader.js'
import type {Check, CheckDefaults} from './check.js'
import {maskUrl} from '../report/mask.js'
import {defaultConditions, parseMethod} from './check.js'

const DEFAULT_KEYS = ['timeout', 'retries', 'retry-delay', 'insecure', 'headers'] as const
const CHECK_KEYS = ['name', 'group', 'tags', 'url', 'method', 'headers', 'body', 'timeout', 'retries', 'insecure', 'conditions'] as const

export interface CheckFile {
  checks: Check[]
  /** `defaults.retry-delay`: the first backoff delay, when the file sets one. */
  retryDelayMs?: number
  /** What the files hold that fanout does not use (Gatus's alerting, storage…): said once each, on stderr. */
  notes: string[]
}

/**
 * Check files: fanout's own (`defaults`, `checks`, `${ENV}` substituted in values) or Gatus's (`endpoints`,
 * `external-endpoints`…), several files or directories of them merged as Gatus merges them. Anything off — an
 * unknown key, a bad duration, an unknown placeholder in a condition — is a UsageError naming `file:line` and the fix.
 */
export async function loadCheckFiles(paths: string[], cli: CheckDefaults, env: NodeJS.ProcessEnv = process.env): Promise<CheckFile> {
  const checks: Check[] = []
  const gatus: GatusFile[] = []
  let retryDelayMs: number | undefined
  for (const path of await configFiles(paths)) {
    const text = await readConfigText(path)
    if (isGatusConfig(text)) {
      gatus.push({path, text})
      continue
    }
    const loaded = fanoutChecks(path, text, cli, env)
    checks.push(...loaded.checks)
    retryDelayMs ??= loaded.retryDelayMs
  }
  const notes: string[] = []
  if (gatus.length > 0) {
    const loaded = gatusChecks(gatus, cli, env)
    checks.push(...loaded.checks)
    notes.push(...loaded.notes)
  }
  if (checks.length === 0) throw new UsageError(`${paths.join(', ')}: no checks to run; add an endpoint or a check with a url`)
  const seen = new Map<string, Check['where']>()
  for (const check of checks) {
    const key = `${check.group ?? ''}\u0000${check.name}`
    const first = seen.get(key)
    if (first) throw new UsageError(`${check.where}: duplicate check name "${check.name}" (first at ${first}); give each check its own name`)
    seen.set(key, check.where)
  }
  return {checks, retryDelayMs, notes}
}

/** One check file (the single-file form of loadCheckFiles). */
export function loadCheckFile(path: string, cli: CheckDefaults, env: NodeJS.ProcessEnv = process.env): Promise<CheckFile> {
  return loadCheckFiles([path], cli, env)
}

function fanoutChecks(path: string, text: string, cli: CheckDefaults, env: NodeJS.ProcessEnv): Omit<CheckFile, 'notes'> {
  const reader = new CheckFileReader(path, text, env)
  const root = reader.root
  if (!root.isMap) throw reader.error(root, 'expected a mapping with `checks:` (and optionally `defaults:`), or Gatus\'s `endpoints:`')
  reader.keys(root, ['defaults', 'checks'])
  const defaultsNode = root.get('defaults')
  const defaults: CheckDefaults = {...cli}
  let retryDelayMs: number | undefined
  if (defaultsNode) {
    const map = reader.map(defaultsNode, 'defaults')
    reader.keys(map, DEFAULT_KEYS)
    Object.assign(defaults, reader.settings(map, cli))
    const delay = map.get('retry-delay')
    if (delay) retryDelayMs = reader.duration(delay, 'retry-delay')
  }
  const checksNode = root.get('checks')
  if (!checksNode) throw reader.error(root, 'no `checks:` list; add one entry per backend with at least a url')
  const items = checksNode.items()
  if (items.length === 0) throw reader.error(checksNode, '`checks` must be a non-empty list')
  return {checks: items.map((item) => reader.check(item, defaults)), retryDelayMs}
}

/** fanout's own check file: `defaults` and `checks`. */
class CheckFileReader extends YamlReader {
  /** timeout, retries, insecure and headers: shared by `defaults` and each check, each falling back to `base`. */
  settings(map: YamlNode, base: CheckDefaults): CheckDefaults {
    const timeout = map.get('timeout')
    const retries = map.get('retries')
    const insecure = map.get('insecure')
    const headers = map.get('headers')
    return {
      timeoutMs: timeout ? this.duration(timeout, 'timeout') : base.timeoutMs,
      retries: retries ? this.count(retries, 'retries') : base.retries,
      insecure: insecure ? this.boolean(insecure, 'insecure') : base.insecure,
      headers: headers ? {...base.headers, ...this.headers(headers)} : base.headers,
    }
  }

  check(node: YamlNode, defaults: CheckDefaults): Check {
    const map = this.map(node, 'each check')
    this.keys(map, CHECK_KEYS)
    const where = this.where(node)
    const urlNode = map.get('url')
    if (!urlNode) throw this.error(node, 'check has no `url`; add one, e.g. url: https://api.internal/health')
    const url = this.url(urlNode)
    const conditionsNode = map.get('conditions')
    const conditions = conditionsNode ? this.conditions(conditionsNode) : defaultConditions(url)
    const body = this.text(map, 'body')
    return {
      ...this.settings(map, defaults),
      name: this.text(map, 'name') ?? maskUrl(url),
      group: this.text(map, 'group'),
      tags: map.get('tags') ? this.strings(map.get('tags')!, 'tags') : [],
      url,
      method: parseMethod(this.text(map, 'method') ?? (body === undefined ? 'GET' : 'POST'), this.where(map.get('method') ?? node)),
      body,
      conditions,
      where,
    }
  }
}
