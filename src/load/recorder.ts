import * as hdr from 'hdr-histogram-js'
import type {Histogram} from 'hdr-histogram-js'

export const ERROR_KINDS = ['refused', 'connect', 'tls', 'reset', 'timeout', 'parse', 'other'] as const
export type ErrorKind = (typeof ERROR_KINDS)[number]

/** Microseconds, up to an hour, 3 significant digits: a few tens of kB whatever the run's length. */
export function newHistogram(): Histogram {
  return hdr.build({bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3})
}

/** What one thread saw: counts that reconcile, status codes, errors by kind with the first message of each. */
export class Recorder {
  /** Latency from the actual send. */
  readonly latency = newHistogram()
  /** Latency from the intended send time (--rate): what a user arriving on schedule would have waited. */
  readonly corrected = newHistogram()
  sent = 0
  completed = 0
  /** Sends that went out more than LATE_MS after their intended time (--rate). */
  late = 0
  /** Indexed by status code: any three digits (100–999) are kept as they came. */
  readonly statuses = new Float64Array(1000)
  readonly errors = Object.fromEntries(ERROR_KINDS.map((kind) => [kind, {count: 0}])) as Record<ErrorKind, {count: number; first?: string}>
  /** TLS handshakes (TCP connected to secure), apart from request latency. */
  readonly handshake = newHistogram()
  /** Connections opened (TLS or not) and, of the TLS ones, those that resumed an earlier session. */
  connections = 0
  resumed = 0
  /** Bytes written to and read from the sockets (HTTP/2: frames) in the measured phase (run-load zeroes them after the warm-up). */
  bytesSent = 0
  bytesReceived = 0

  /** `correctedUs` is -1 without --rate: there is no schedule to be late for, and one histogram says it all. */
  response(status: number, latencyUs: number, correctedUs: number): void {
    this.completed++
    this.statuses[status]!++
    this.latency.recordValue(latencyUs < 1 ? 1 : latencyUs)
    if (correctedUs >= 0) this.corrected.recordValue(correctedUs < 1 ? 1 : correctedUs)
  }

  /** A connection is ready; `handshakeUs` is -1 for plain TCP. */
  connected(handshakeUs: number, resumed: boolean): void {
    this.connections++
    if (handshakeUs < 0) return
    this.handshake.recordValue(handshakeUs < 1 ? 1 : handshakeUs)
    if (resumed) this.resumed++
  }

  error(kind: ErrorKind, message: string, count = 1): void {
    const entry = this.errors[kind]
    entry.count += count
    entry.first ??= message
  }

  get errorCount(): number {
    let total = 0
    for (const kind of ERROR_KINDS) total += this.errors[kind].count
    return total
  }
}

export const LATE_MS = 2

const CONNECT_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EMFILE', 'ENFILE', 'connect'])

/** Node's error codes as the kinds a load test reports: OpenSSL's and the certificate checks' are `tls`. */
export function errorKindOf(error: unknown): ErrorKind {
  const code = (error as {code?: string})?.code
  if (code === 'ECONNREFUSED') return 'refused'
  if (code !== undefined && CONNECT_CODES.has(code)) return 'connect'
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset'
  if (code === 'ETIMEDOUT' || code === 'timeout') return 'timeout'
  if (code === 'parse') return 'parse'
  if (code !== undefined && /^ERR_(SSL|TLS)_|CERT|UNABLE_TO_|SELF_SIGNED|HOSTNAME_MISMATCH/.test(code)) return 'tls'
  return 'other'
}

/**
 * A socket's error as the kind and message to report. Over TLS, whatever fails before the handshake completes
 * (a certificate refused, a reset for want of a client certificate) is `tls`; running out of file descriptors says
 * which limit to raise.
 */
export function connectionErrorOf(error: Error, handshaking: boolean): {kind: ErrorKind; message: string} {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EMFILE' || code === 'ENFILE') return {kind: 'connect', message: `too many open files (${code}): raise the limit (ulimit -n) or lower --workers`}
  const kind = errorKindOf(error)
  if (handshaking && kind !== 'refused' && kind !== 'connect') {
    // OpenSSL's message spells out its source file and line; its `reason` is what a user can act on.
    const reason = (error as {reason?: string}).reason ?? error.message
    const hint = code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' ? '; the server takes none of the ALPN protocols offered (try --http 2 or --http auto)' : ''
    return {kind: 'tls', message: `TLS handshake: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}${hint}`}
  }
  return {kind, message: error.message}
}
