import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'
import type {Line} from '../cli/line-file.js'

/** One request, prebuilt once: every send writes the same bytes. */
export interface Request {
  url: string
  method: string
  /** The whole HTTP/1.1 request. */
  bytes: Buffer
  /** A response to HEAD has no body whatever its headers say. */
  bodiless: boolean
  /** For HTTP/2: the request line's parts and the headers as lower-case name, value pairs (no Host, no hop-by-hop). */
  path: string
  authority: string
  headers: [string, string][]
  body?: Buffer
}

export interface Origin {
  host: string
  port: number
  /** https:// */
  secure: boolean
}

export interface RequestOptions {
  method: string
  headers: string[]
  body?: Buffer
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const CONTROL = /[\r\n\0]/
/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); Host becomes :authority. */
const NOT_IN_HTTP2 = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])

/** Printable with its control characters spelt out, for a message. */
const shown = (text: string) => JSON.stringify(text)

/** The requests to send round-robin, and the one origin (host:port) the workers' connections go to. */
export function buildRequests(lines: Line[], options: RequestOptions): {origin: Origin; requests: Request[]} {
  let origin: Origin | undefined
  const requests = lines.map(({text, where}) => {
    // The URL parser drops CR, LF and tabs silently: a line that held them is refused rather than sent altered.
    if (CONTROL.test(text.trim())) throw new UsageError(`${where}: ${shown(text.trim())} holds CR, LF or NUL; percent-encode them in a URL`)
    const [first = '', second] = text.trim().split(/[ \t]+/)
    const [method, raw] = second === undefined ? [options.method, first] : [first.toUpperCase(), second]
    if (!TOKEN.test(method)) throw new UsageError(`${second === undefined ? '--method' : where}: method ${shown(method)} is not an HTTP token (letters, digits, !#$%&'*+.^_\`|~-); CR, LF and NUL are never sent`)
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new UsageError(`${where}: "${raw}" is not a URL; give http://host:port/path (a targets file line may start with a method: POST http://…)`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${where}: ${url.protocol}// is not supported; loadtest speaks HTTP/1.1 and HTTP/2 over TCP or TLS (http:// or https://)`)
    const secure = url.protocol === 'https:'
    const here = {host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (secure ? 443 : 80)), secure}
    origin ??= here
    if (here.host !== origin.host || here.port !== origin.port || here.secure !== origin.secure) {
      throw new UsageError(`${where}: ${url.protocol}//${url.host} differs from the first URL's origin; every target shares one origin (run one loadtest per origin)`)
    }
    return requestOf(url, method, options)
  })
  if (!origin) throw new UsageError('no URL: give one as an argument or --targets FILE (one URL a line)')
  return {origin, requests}
}

function requestOf(url: URL, method: string, options: RequestOptions): Request {
  const headers = options.headers.map((header): [string, string] => {
    const colon = header.indexOf(':')
    return [header.slice(0, colon).trim(), header.slice(colon + 1).trim()]
  })
  // Credentials in the URL are Basic auth, as curl and browsers send them; an explicit -H Authorization wins.
  if ((url.username || url.password) && !headers.some(([name]) => name.toLowerCase() === 'authorization')) headers.push(['authorization', `Basic ${basicCredentials(url)}`])
  const given = new Set(headers.map(([name]) => name.toLowerCase()))
  const path = `${url.pathname}${url.search}`
  // -H 'Host: …' replaces the URL's host rather than sending a second one (servers answer two with 400).
  const authority = headers.find(([name]) => name.toLowerCase() === 'host')?.[1] ?? url.host
  const lines = [`${method} ${path} HTTP/1.1`]
  if (!given.has('host')) lines.push(`host: ${url.host}`)
  if (!given.has('user-agent')) lines.push('user-agent: fanout-loadtest')
  lines.push(...headers.map(([name, value]) => `${name}: ${value}`))
  const length = options.body || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method) ? String(options.body?.length ?? 0) : undefined
  if (length !== undefined && !given.has('content-length')) lines.push(`content-length: ${length}`)
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  const h2headers: [string, string][] = headers.map(([name, value]): [string, string] => [name.toLowerCase(), value]).filter(([name]) => !NOT_IN_HTTP2.has(name))
  if (!given.has('user-agent')) h2headers.push(['user-agent', 'fanout-loadtest'])
  if (length !== undefined && !given.has('content-length')) h2headers.push(['content-length', length])
  return {
    url: url.toString(),
    method,
    bytes: options.body ? Buffer.concat([head, options.body]) : head,
    bodiless: method === 'HEAD',
    path,
    authority,
    headers: h2headers,
    ...(options.body ? {body: options.body} : {}),
  }
}

function basicCredentials(url: URL): string {
  return Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
}

/** `-H "Name: value"`: a bad one (no name, or CR, LF or NUL anywhere) is a UsageError before anything is sent. */
export function checkHeaders(headers: string[]): string[] {
  for (const header of headers) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(header)) throw new UsageError(`--header expects "Name: value"; got ${shown(header)}`)
    if (CONTROL.test(header)) throw new UsageError(`--header ${shown(header)} holds CR, LF or NUL, which would split or end the request head; remove them`)
  }
  return headers
}

/** `--targets FILE`: one URL (or `METHOD URL`) a line; blank lines and `#` comments skipped. */
export function readTargets(file: string): Promise<Line[]> {
  return readLineFile(file, '--targets', 'one URL (or "METHOD URL") a line')
}
