import {maskUrl} from '../report/mask.js'

/**
 * Pushes a registry's text to a Pushgateway with PUT, which replaces every series of the group (job + labels): what a
 * batch job wants, so that a series the previous run had and this one has not (a namespace gone) does not linger.
 * Credentials in the URL go as HTTP basic auth.
 */
export async function pushGroup(gateway: string, grouping: Record<string, string>, body: string, contentType: string, timeoutMs: number): Promise<void> {
  const url = new URL(gateway)
  const headers: Record<string, string> = {'content-type': contentType}
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    url.username = ''
    url.password = ''
  }
  const path = Object.entries(grouping).map(([name, value]) => groupingPart(name, value)).join('/')
  const target = `${url.href.replace(/\/+$/, '')}/metrics/${path}`
  // undici's request, not fetch: fetch refuses URLs with credentials and a list of "bad" ports.
  const {request} = await import('undici')
  const response = await request(target, {method: 'PUT', headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs}).catch((error: Error & {code?: string}) => {
    throw new Error(error.code ?? error.message)
  })
  const said = (await response.body.text().catch(() => '')).trim().split('\n')[0]?.slice(0, 200)
  if (response.statusCode >= 300) throw new Error(`${maskUrl(target)} answered ${response.statusCode}${said ? `: ${said}` : ''}`)
}

/**
 * `job/NAME`, or `job@base64/…` (base64url) for a value with a `/` or an empty one, as the Pushgateway documents: a
 * `/` even percent-encoded splits the path there.
 */
export function groupingPart(name: string, value: string): string {
  if (value !== '' && !value.includes('/')) return `${name}/${encodeURIComponent(value)}`
  return `${name}@base64/${value === '' ? '=' : Buffer.from(value).toString('base64url')}`
}
