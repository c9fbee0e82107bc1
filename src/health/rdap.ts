import {isIP} from 'node:net'

import {ProbeFailure, classify} from './probes/errors.js'

/** Where RDAP questions go by default: rdap.org redirects each to the registry that holds the domain (RFC 9224's bootstrap). */
export const DEFAULT_RDAP_URL = 'https://rdap.org/'

/**
 * The registered domain a host name belongs to, by the Public Suffix List's ICANN section (api.example.co.uk ->
 * example.co.uk: co.uk is a suffix, not a registration). tldts carries the list and costs a noticeable share of a
 * start, so it is loaded on the first [DOMAIN_EXPIRATION] check only. A name with no registrable part (localhost, a
 * bare suffix) is asked about as it is.
 */
async function registeredDomain(hostname: string): Promise<string> {
  tldts ??= import('tldts')
  const {getDomain} = await tldts
  return getDomain(hostname, {allowPrivateDomains: false}) ?? hostname
}
let tldts: Promise<typeof import('tldts')> | undefined

/**
 * When a host's domain registration expires, from RDAP (RFC 9083: the `expiration` event of the domain), for
 * [DOMAIN_EXPIRATION]; Gatus asks WHOIS when RDAP fails. Unreachable RDAP is a `dns`, `refused`, `timeout`… error
 * naming the lookup, never a silent pass.
 */
export async function domainExpiry(hostname: string, rdapUrl: string, signal: AbortSignal): Promise<Date> {
  if (isIP(hostname.replace(/^\[(.*)\]$/, '$1'))) throw new ProbeFailure('protocol', `[DOMAIN_EXPIRATION]: ${hostname} is an IP address, which has no domain registration`)
  const domain = await registeredDomain(hostname.toLowerCase().replace(/\.$/, ''))
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
