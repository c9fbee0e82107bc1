import {isIP} from 'node:net'

import {ProbeFailure, classify} from './probes/errors.js'

/** Where RDAP questions go by default: rdap.org redirects each to the registry that holds the domain (RFC 9224's bootstrap). */
export const DEFAULT_RDAP_URL = 'https://rdap.org/'

/**
 * When a host's domain registration expires, from RDAP (RFC 9083: the `expiration` event of the domain), for
 * [DOMAIN_EXPIRATION]. The domain is the host name's last two labels (api.example.org -> example.org); Gatus asks
 * WHOIS instead. Unreachable RDAP is a `dns`, `refused`, `timeout`… error naming the lookup, never a silent pass.
 */
export async function domainExpiry(hostname: string, rdapUrl: string, signal: AbortSignal): Promise<Date> {
  if (isIP(hostname.replace(/^\[(.*)\]$/, '$1'))) throw new ProbeFailure('protocol', `[DOMAIN_EXPIRATION]: ${hostname} is an IP address, which has no domain registration`)
  const domain = hostname.toLowerCase().split('.').filter(Boolean).slice(-2).join('.')
  const url = new URL(`domain/${encodeURIComponent(domain)}`, rdapUrl.endsWith('/') ? rdapUrl : `${rdapUrl}/`)
  const where = `RDAP lookup of ${domain} at ${url.origin}`
  let response: Response
  try {
    response = await fetch(url, {headers: {accept: 'application/rdap+json'}, signal})
  } catch (error) {
    if (signal.aborted) throw error
    const {code, message} = classify((error as Error).cause ?? error)
    throw new ProbeFailure(code, `${where}: ${message}`)
  }
  if (!response.ok) throw new ProbeFailure('protocol', `${where}: HTTP ${response.status}`)
  const answer = (await response.json().catch(() => ({}))) as {events?: Array<{eventAction?: string; eventDate?: string}>}
  const expiration = answer.events?.find((event) => event.eventAction === 'expiration')?.eventDate
  const date = expiration === undefined ? undefined : new Date(expiration)
  if (!date || Number.isNaN(+date)) throw new ProbeFailure('protocol', `${where}: the answer has no expiration event`)
  return date
}
