import {UsageError} from '../../cli/errors.js'
import {maskUrl} from '../../report/mask.js'
import type {Probe} from '../types.js'
import {dnsProbe} from './dns.js'
import {grpcProbe} from './grpc.js'
import {httpProbe} from './http.js'
import {icmpProbe} from './icmp.js'
import {postgresProbe} from './postgres.js'
import {redisProbe} from './redis.js'
import {sshProbe} from './ssh.js'
import {starttlsProbe} from './starttls.js'
import {tcpProbe} from './tcp.js'
import {tlsProbe} from './tls.js'
import {udpProbe} from './udp.js'
import {wsProbe} from './ws.js'

const PROBES = new Map<string, Probe>([
  ['http', httpProbe],
  ['https', httpProbe],
  ['tcp', tcpProbe],
  ['tls', tlsProbe],
  ['postgres', postgresProbe],
  ['postgresql', postgresProbe],
  ['redis', redisProbe],
  ['udp', udpProbe],
  ['dns', dnsProbe],
  ['icmp', icmpProbe],
  ['ssh', sshProbe],
  ['grpc', grpcProbe],
  ['grpcs', grpcProbe],
  ['ws', wsProbe],
  ['wss', wsProbe],
  ['starttls', starttlsProbe],
])

/** The URL schemes a check may use, without `://`. */
export const SCHEMES: readonly string[] = [...PROBES.keys()]

/** Schemes with no port of their own to fall back on. */
const PORT_REQUIRED = new Set(['tcp', 'tls', 'udp', 'grpc', 'grpcs'])

/** The probe for a URL's scheme; a UsageError for a URL no probe can check. */
export function probeFor(url: URL): Probe {
  const scheme = url.protocol.slice(0, -1)
  const probe = PROBES.get(scheme)
  if (probe === undefined) {
    throw new UsageError(`unsupported scheme "${url.protocol}" in ${maskUrl(url)}; use one of ${SCHEMES.map((s) => `${s}://`).join(' ')}`)
  }
  if (PORT_REQUIRED.has(scheme) && !url.port) {
    throw new UsageError(`${maskUrl(url)} has no port; write it as ${scheme}://${url.host}:PORT`)
  }
  return probe
}
