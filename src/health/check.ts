import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'
import type {Line} from '../cli/line-file.js'
import {maskUrl} from '../report/mask.js'
import type {Condition} from './conditions.js'
import {parseCondition} from './conditions.js'
import {probeFor} from './probes/index.js'
import type {ProbeOptions} from './types.js'
import type {Where} from '../cli/yaml-node.js'

/** What a Gatus endpoint's `client`, `dns` and `ssh` say, handed to the probe as they are. */
export type ClientSettings = Partial<
  Pick<ProbeOptions, 'ignoreRedirects' | 'resolver' | 'family' | 'proxy' | 'clientCertificate' | 'authorize' | 'dns' | 'ssh'>
>

/** What a check inherits unless it says otherwise: the command's flags, then the check file's `defaults`. */
export interface CheckDefaults {
  timeoutMs: number
  retries: number
  insecure: boolean
  headers: Record<string, string>
}

export interface Check extends CheckDefaults {
  name: string
  group?: string
  tags: string[]
  url: URL
  method: string
  body?: string
  conditions: Condition[]
  client?: ClientSettings
  /** Gatus's per-endpoint `interval`: under --watch the check runs this often instead of every --watch. */
  intervalMs?: number
  /** Gatus's `ui.hide-url` / `hide-hostname` / `hide-port`: kept out of every output. */
  hide?: {url: boolean; hostname: boolean; port: boolean}
  /** Gatus's `extra-labels`: added to the check's Prometheus series. */
  labels?: Record<string, string>
  /** Where the check was written (`checks.yaml:12`, `--file urls.txt:3`, `argument 2`): for errors. */
  where: Where
}

const REDACTED = '<redacted>'

/**
 * What Gatus's `ui.hide-url` / `hide-hostname` / `hide-port` keep out of a report: a function that blanks them in any
 * text (the target, an error message, a condition's actual value), or undefined when nothing is hidden.
 */
export function masking(check: Pick<Check, 'url' | 'hide'>): ((text: string) => string) | undefined {
  const {hide, url} = check
  if (!hide || !(hide.url || hide.hostname || hide.port)) return undefined
  const secrets = new Map<string, string>()
  if (hide.url) for (const form of [url.href, maskUrl(url)]) secrets.set(form, REDACTED)
  if (hide.url || hide.hostname) secrets.set(url.hostname, REDACTED)
  if ((hide.url || hide.port) && url.port) secrets.set(`:${url.port}`, `:${REDACTED}`)
  // Longest first: the whole URL goes before its host name is looked for.
  const ordered = [...secrets].sort(([a], [b]) => b.length - a.length)
  return (text) => ordered.reduce((masked, [secret, shown]) => masked.replaceAll(secret, shown), text)
}

/**
 * A check with no conditions of its own passes when the probe works and, for HTTP, the final status is below 400
 * (redirects are followed): what "is it up?" means to most people, stated rather than implied.
 */
export function defaultConditions(url: URL): Condition[] {
  return url.protocol === 'http:' || url.protocol === 'https:' ? HTTP_DEFAULT : CONNECTED_DEFAULT
}

// Shared by every check that has no conditions of its own: thousands of checks, two parsed conditions.
const HTTP_DEFAULT = [parseCondition('[STATUS] < 400', 'default condition')]
const CONNECTED_DEFAULT = [parseCondition('[CONNECTED] == true', 'default condition')]

/** Checks for plain URLs (arguments, or a file of one URL a line), sharing the flags' settings and conditions. */
export function checksFromUrls(urls: Line[], defaults: CheckDefaults, conditions: string[]): Check[] {
  const given = conditions.map((condition) => parseCondition(condition, '--condition'))
  return urls.map(({text, where}) => {
    const url = parseUrl(text, where)
    return {
      ...defaults,
      name: maskUrl(url),
      tags: [],
      url,
      method: 'GET',
      conditions: given.length > 0 ? given : defaultConditions(url),
      where,
    }
  })
}

/** An HTTP method is a token (RFC 9110 §9.1): anything else would change what goes on the request line. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** The method upper-cased, or a UsageError naming where it was written. */
export function parseMethod(text: string, where: Where): string {
  if (!METHOD.test(text)) {
    throw new UsageError(`${where}: method ${JSON.stringify(text)} is not an HTTP method; write one word like GET, POST or HEAD`)
  }
  return text.toUpperCase()
}

/** One URL a line; blank lines and `#` comments skipped. */
export function readUrlFile(path: string): Promise<Line[]> {
  return readLineFile(path, '--file', 'one URL a line')
}

/** A check's URL, refused before anything runs when it is malformed, of an unknown scheme or missing a port. */
export function parseUrl(text: string, where: Where): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`${where}: "${text}" is not a URL; write it in full, e.g. https://host:8443/health or tcp://host:5432`)
  }
  try {
    probeFor(url)
  } catch (error) {
    throw new UsageError(`${where}: ${(error as UsageError).line}`)
  }
  return url
}
