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
  /** The response body (HTTP), up to the probe's body limit; what a DNS, gRPC, WebSocket or SSH probe got back. */
  body?: string
  /** Set to the limit when the body was longer than it: the body was cut there, and conditions on it say so. */
  bodyOverLimit?: number
  /** DNS: the answer's RCODE (NOERROR, NXDOMAIN, SERVFAIL…). */
  dnsRcode?: string
  /** Expiry of the earliest-expiring certificate of the chain the server presented (https, tls). */
  certificateExpiresAt?: Date
  /** When the domain's registration expires, from RDAP: asked only by checks with a [DOMAIN_EXPIRATION] condition. */
  domainExpiresAt?: Date
  /** Set when the probe itself failed; conditions are then not evaluated. */
  error?: ProbeError
  /** Milliseconds its connections waited on the checker's own saturated event loop (see probes/local-queue.ts). */
  localQueueMs?: number
}

export interface ProbeOptions {
  method: string
  headers: Record<string, string>
  body?: string
  /** Skip TLS certificate verification (expiry is still read and reported). */
  insecure: boolean
  /** A client certificate for mutual TLS (Gatus's `client.tls.certificate-file`, `private-key-file`), PEM. */
  clientCertificate?: {cert: Buffer; key: Buffer}
  /** Most redirects followed before the probe fails with `protocol`. */
  maxRedirects: number
  /** Gatus's `client.ignore-redirect`: a redirect is the final answer. */
  ignoreRedirects?: boolean
  /** Most body bytes read for conditions; past it the probe stops reading and records `bodyOverLimit`. */
  maxBodyBytes: number
  /** Host names resolved by this DNS server instead of the system's (Gatus's `client.dns-resolver`). */
  resolver?: Resolver
  /** Only addresses of this family (Gatus's `client.network`: ip4, ip6). */
  family?: 4 | 6
  /** An HTTP proxy the request goes through (Gatus's `client.proxy-url`). */
  proxy?: URL
  /** The Authorization header's value, fetched when the probe starts (Gatus's `client.oauth2`). */
  authorize?: (signal: AbortSignal) => Promise<string>
  /** DNS checks: what to ask. */
  dns?: {queryType: string; queryName: string; protocol: 'udp' | 'tcp'}
  /**
   * SSH checks: who to log in as, with a password and/or a private key (the key itself, PEM or OpenSSH, as Gatus's
   * `ssh.private-key` holds it; `passphrase` when it is encrypted). With both, the key is offered first, as Gatus does.
   */
  ssh?: {username: string; password: string; privateKey?: string; passphrase?: string}
  /** Aborts the probe: the engine's per-attempt signal (timeout, fail-fast, Ctrl-C). */
  signal: AbortSignal
}

/** A DNS server to ask, as Gatus writes it: `udp://127.0.0.1:53` or `tcp://…`. */
export interface Resolver {
  protocol: 'udp' | 'tcp'
  host: string
  port: number
}

export type Probe = (url: URL, options: ProbeOptions) => Promise<ProbeResult>
