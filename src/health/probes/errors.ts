import {DatabaseError} from 'pg'

import {formatDuration} from '../../cli/values.js'
import type {ErrorCode, ProbeError} from '../types.js'

/** A failure a probe diagnosed itself (a Redis reply, a redirect loop): already classified. */
export class ProbeFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ProbeFailure'
  }
}

/** The reasons a timeout aborts a signal with: the engine's TimeoutError (code 'timeout'), AbortSignal.timeout's DOMException. */
export function isTimeout(reason: unknown): boolean {
  const {name, code} = (reason ?? {}) as {name?: unknown; code?: unknown}
  return name === 'TimeoutError' || code === 'timeout'
}

const AUTH_SQLSTATES = new Set([
  '28000', // invalid_authorization_specification: no such role, or pg_hba.conf rejects the login
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database is part of what a login names, so a missing one is the login's fault
])
const DNS_FAILURES = new Map([
  ['ENOTFOUND', 'does not resolve'],
  ['EAI_AGAIN', 'could not be resolved for now'],
])
/** This process's, or the system's, file table is full: the checker is overloaded, whatever the backend. */
const LOCAL_EXHAUSTION = new Set(['EMFILE', 'ENFILE'])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
// Node names certificate verification failures after OpenSSL's X509_V_ERR_* (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE…)
// and handshake failures ERR_SSL_* / ERR_TLS_*.
const TLS_CODE = /^ERR_(SSL|TLS)_|CERT|SIGNATURE|INVALID_CA|INVALID_PURPOSE|HOSTNAME_MISMATCH/

type Failure = Error & {code?: unknown; errors?: unknown[]; address?: string; port?: number; hostname?: string; reason?: string}

/** What kind of trouble an error from Node, undici, pg or a probe means, in one specific line. */
export function classify(error: unknown): ProbeError {
  if (error instanceof ProbeFailure) return {code: error.code, message: oneLine(error.message)}
  if (isTimeout(error)) {
    const {timeoutMs} = error as {timeoutMs?: unknown}
    return {code: 'timeout', message: `no answer within ${typeof timeoutMs === 'number' ? formatDuration(timeoutMs) : 'the timeout'}`}
  }
  if (!(error instanceof Error)) return {code: 'protocol', message: oneLine(String(error))}
  const failure = error as Failure
  const code = typeof failure.code === 'string' ? failure.code : ''
  if (failure.name === 'AbortError' && failure.cause !== undefined) return classify(failure.cause)
  if (error instanceof DatabaseError) {
    return {code: AUTH_SQLSTATES.has(code) ? 'auth' : 'protocol', message: `${oneLine(error.message)} (SQLSTATE ${code})`}
  }
  if (LOCAL_EXHAUSTION.has(code)) {
    return {code: 'local', message: `the checker ran out of file descriptors (${code}): lower --workers or raise ulimit -n`, overload: true}
  }
  if (code === 'ECONNREFUSED') return {code: 'refused', message: `connection refused by ${refusers(failure).join(', ')}`}
  if (DNS_FAILURES.has(code)) return {code: 'dns', message: `${failure.hostname ?? 'the host name'} ${DNS_FAILURES.get(code)} (${code})`}
  // Node's HTTP client: the connection ended (FIN or RST) before a response began.
  if (code === 'ECONNRESET' && error.message === 'socket hang up') return {code: 'reset', message: 'the server closed the connection before answering'}
  if (RESET_CODES.has(code)) return {code: 'reset', message: `the server closed or reset the connection (${code === 'UND_ERR_SOCKET' ? oneLine(error.message) : code})`}
  if (/^Connection terminated/.test(error.message)) return {code: 'reset', message: `the server closed the connection (${oneLine(error.message)})`}
  if (TIMEOUT_CODES.has(code)) return {code: 'timeout', message: `no answer within the timeout (${code})`}
  // OpenSSL's `reason` is the readable part of its message ("wrong version number").
  if (TLS_CODE.test(code)) return {code: 'tls', message: `${oneLine(failure.reason ?? error.message)} (${code})`}
  return {code: 'protocol', message: oneLine(code && !error.message.includes(code) ? `${error.message} (${code})` : error.message)}
}

/** Every address that refused: with several (localhost's ::1 and 127.0.0.1), Node reports an AggregateError. */
function refusers(failure: Failure): string[] {
  const attempts = (failure.errors ?? [failure]) as Failure[]
  return attempts.map(({address, port}) => (address === undefined ? 'the server' : `${address.includes(':') ? `[${address}]` : address}:${port}`))
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
