import type {RecordType} from 'dns-packet'

import type {Probe} from '../types.js'
import {answerText, queryDns, rcodeOf} from './dns-query.js'
import {ProbeFailure} from './errors.js'
import {addPhase, observe} from './observe.js'

/**
 * dns://server[:port] with Gatus's `dns: {query-type, query-name}`: one question to that server (UDP, or TCP when the
 * endpoint's url was tcp://), never the system resolver. `[DNS_RCODE]` is the answer's RCODE, `[BODY]` the answers of
 * the type asked for, one a line (Gatus keeps only the last). Phases: ttfb, the round trip.
 */
export const dnsProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const dns = options.dns
    if (!dns) throw new ProbeFailure('protocol', 'a DNS check needs dns.query-type and dns.query-name (a Gatus endpoint with a dns: block)')
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const started = performance.now()
    const answer = await queryDns({protocol: dns.protocol, host, port: Number(url.port) || 53}, dns.queryName, dns.queryType as RecordType, options.signal)
    addPhase(seen.phases, 'ttfb', performance.now() - started)
    seen.connected = true
    seen.ip = host
    seen.dnsRcode = rcodeOf(answer)
    seen.body = (answer.answers ?? [])
      .filter((record) => record.type === dns.queryType)
      .map(answerText)
      .join('\n')
  })
