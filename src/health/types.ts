/** Why a check failed, grouped so that a report can say at a glance what kind of trouble a backend is in. */
export type ErrorCode =
  | 'timeout' // no answer within the check's timeout
  | 'dns' // the host name does not resolve
  | 'refused' // nothing listens there
  | 'reset' // the peer closed or reset the connection mid-exchange
  | 'tls' // handshake failed: bad, self-signed or expired certificate, wrong host name
  | 'auth' // the server refused the credentials (PostgreSQL, Redis)
  | 'protocol' // the peer answered, but not as the protocol expects (redirect loop, garbage, too large a body)
  | 'condition' // the probe worked, a condition did not hold
  | 'local' // the checker itself could not probe (out of file descriptors): no verdict on the backend

export interface ProbeError {
  code: ErrorCode
  message: string
  /** The checker's own overload, not the backend's state: with --workers auto the limit halves. */
  overload?: true
}

/** Milliseconds spent in each phase of one probe, where the probe has that phase. */
export interface Phases {
  dns?: number
  connect?: number
  tls?: number
  /** Request sent to first byte of the response. */
  ttfb?: number
  /** First byte to last byte of the response body. */
  transfer?: number
}

/** What one probe saw: everything a condition can ask about. */
export interface ProbeResult {
  /** A connection (TCP, and TLS where the scheme has it) was established. */
  connected: boolean
  /** Start to end of the probe, in milliseconds. */
  responseTimeMs: number
  phases: Phases
  /** The address connected to. */
  ip?: string
  /** HTTP status code of the final response (after redirects). */
  status?: number
  /** The response body, up to the probe's body limit (HTTP only). */
  body?: string
  /** Expiry of the earliest-expiring certificate of the chain the server presented (https, tls). */
  certificateExpiresAt?: Date
  /** Set when the probe itself failed; conditions are then not evaluated. */
  error?: ProbeError
}

export interface ProbeOptions {
  method: string
  headers: Record<string, string>
  body?: string
  /** Skip TLS certificate verification (expiry is still read and reported). */
  insecure: boolean
  /** Most redirects followed before the probe fails with `protocol`. */
  maxRedirects: number
  /** Most body bytes kept for conditions; a longer body is read to the end but not kept. */
  maxBodyBytes: number
  /** Aborts the probe: the engine's per-attempt signal (timeout, fail-fast, Ctrl-C). */
  signal: AbortSignal
}

export type Probe = (url: URL, options: ProbeOptions) => Promise<ProbeResult>
