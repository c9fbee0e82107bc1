import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'
import type {Line} from '../cli/line-file.js'

/** One request, prebuilt once: every send writes the same bytes. */
export interface Request {
  url: string
  method: string
  bytes: Buffer
  /** A response to HEAD has no body whatever its headers say. */
  bodiless: boolean
}

export interface Origin {
  host: string
  port: number
}

export interface RequestOptions {
  method: string
  headers: string[]
  body?: Buffer
}

/** The requests to send round-robin, and the one origin (host:port) the workers' connections go to. */
export function buildRequests(lines: Line[], options: RequestOptions): {origin: Origin; requests: Request[]} {
  let origin: Origin | undefined
  const requests = lines.map(({text, where}) => {
    const [first = '', second] = text.trim().split(/\s+/)
    const [method, raw] = second === undefined ? [options.method, first] : [first.toUpperCase(), second]
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new UsageError(`${where}: "${raw}" is not a URL; give http://host:port/path (a targets file line may start with a method: POST http://…)`)
    }
    if (url.protocol !== 'http:') throw new UsageError(`${where}: ${url.protocol}// is not supported; loadtest speaks HTTP/1.1 over TCP (http://)`)
    const here = {host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80)}
    origin ??= here
    if (here.host !== origin.host || here.port !== origin.port) {
      throw new UsageError(`${where}: ${url.host} differs from ${origin.host}:${origin.port}; every target shares one origin (run one loadtest per origin)`)
    }
    return {url: url.toString(), method, bytes: requestBytes(url, method, options), bodiless: method === 'HEAD'}
  })
  if (!origin) throw new UsageError('no URL: give one as an argument or --targets FILE (one URL a line)')
  return {origin, requests}
}

function requestBytes(url: URL, method: string, options: RequestOptions): Buffer {
  const given = new Set(options.headers.map((header) => header.slice(0, header.indexOf(':')).trim().toLowerCase()))
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`]
  if (!given.has('user-agent')) lines.push('user-agent: fanout-loadtest')
  // Credentials in the URL are Basic auth, as curl and browsers send them; an explicit -H Authorization wins.
  if ((url.username || url.password) && !given.has('authorization')) lines.push(`authorization: Basic ${basicCredentials(url)}`)
  lines.push(...options.headers.map((header) => header.trim()))
  if (options.body || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method)) lines.push(`content-length: ${options.body?.length ?? 0}`)
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  return options.body ? Buffer.concat([head, options.body]) : head
}

function basicCredentials(url: URL): string {
  return Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
}

/** `-H "Name: value"`: a bad one is a UsageError before anything is sent. */
export function checkHeaders(headers: string[]): string[] {
  for (const header of headers) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(header)) throw new UsageError(`--header expects "Name: value"; got "${header}"`)
  }
  return headers
}

/** `--targets FILE`: one URL (or `METHOD URL`) a line; blank lines and `#` comments skipped. */
export function readTargets(file: string): Promise<Line[]> {
  return readLineFile(file, '--targets', 'one URL (or "METHOD URL") a line')
}
