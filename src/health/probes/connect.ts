import {lookup} from 'node:dns/promises'
import type {LookupAddress} from 'node:dns'
import {once} from 'node:events'
import {connect as connectTcp, isIP} from 'node:net'
import type {LookupFunction, Socket} from 'node:net'
import {connect as connectTls} from 'node:tls'
import type {DetailedPeerCertificate, TLSSocket} from 'node:tls'

import type {ProbeOptions, ProbeResult} from '../types.js'
import {resolveWith} from './dns-query.js'
import {loopMark, queuedSince} from './local-queue.js'
import {addPhase} from './observe.js'

export interface Target {
  host: string
  port: number
  /** Present for a TLS connection; `cert` and `key` (PEM) for mutual TLS. */
  tls?: {insecure: boolean; cert?: Buffer; key?: Buffer}
  /** How the host name is resolved, when not by the system (Gatus's dns-resolver, network). */
  resolve?: Pick<ProbeOptions, 'resolver' | 'family'>
}

/** Where a URL points: its host without IPv6 brackets, its port or the scheme's default. */
export function targetOf(url: URL, defaultPort?: number, tls?: Target['tls']): Target {
  return {host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) || defaultPort || 0, ...(tls ? {tls} : {})}
}

/** A probe's target with the check's TLS and name-resolution settings. */
export function targetFor(url: URL, options: ProbeOptions, defaultPort?: number, tls = false): Target {
  return {
    ...targetOf(url, defaultPort, tls ? {insecure: options.insecure, ...options.clientCertificate} : undefined),
    ...(options.resolver || options.family ? {resolve: {resolver: options.resolver, family: options.family}} : {}),
  }
}

/**
 * Opens a TCP connection (and a TLS session on it when the target asks), trying every address the host resolves to,
 * and records into `seen` the phases dns, connect and tls, the address connected to, the certificate's expiry and
 * (once the whole of it is up) `connected`.
 * The caller owns the returned socket; on failure nothing is left open.
 */
export async function connect(target: Target, seen: ProbeResult, signal: AbortSignal): Promise<Socket> {
  const started = performance.now()
  const loop = loopMark()
  let resolved = started
  const timedLookup: LookupFunction = (hostname, _options, callback) => {
    resolveAll(hostname, target.resolve).then(
      (addresses) => {
        resolved = performance.now()
        addPhase(seen.phases, 'dns', resolved - started)
        callback(null, addresses)
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    )
  }
  // autoSelectFamily: Node tries the addresses in turn (Happy Eyeballs), so a server on one family only is still reached.
  const socket = connectTcp({host: target.host, port: target.port, lookup: timedLookup, autoSelectFamily: true})
  const established = (connection: Socket) => {
    seen.connected = true
    return connection
  }
  try {
    await once(socket, 'connect', {signal})
    addPhase(seen.phases, 'connect', performance.now() - resolved)
    const queued = queuedSince(loop)
    if (queued > 0) seen.localQueueMs = (seen.localQueueMs ?? 0) + queued
    // An address given as the target is the one connected to: asking the socket (getpeername) would cost a system
    // call per check for the same answer, a twentieth of what a check of a tcp:// address costs.
    seen.ip = isIP(target.host) ? target.host : socket.remoteAddress
    if (!target.tls) return established(socket)
    return established(await startTls(socket, target.host, target.tls, seen, signal))
  } catch (error) {
    socket.destroy()
    throw error
  }
}

/**
 * A TLS session on a connected socket (at once for tls:// and https, after SMTP's STARTTLS for starttls://), recording
 * the tls phase and the certificate's expiry. On failure the session is destroyed; the socket is the caller's.
 */
export async function startTls(socket: Socket, host: string, tls: NonNullable<Target['tls']>, seen: ProbeResult, signal: AbortSignal): Promise<TLSSocket> {
  const started = performance.now()
  // An IP address is no server name (RFC 6066); Node then checks the certificate against `host`.
  const servername = isIP(host) ? undefined : host
  const session = connectTls({socket, host, servername, rejectUnauthorized: !tls.insecure, cert: tls.cert, key: tls.key})
  try {
    await once(session, 'secureConnect', {signal})
  } catch (error) {
    session.destroy()
    throw error
  }
  addPhase(seen.phases, 'tls', performance.now() - started)
  seen.certificateExpiresAt = earliestExpiry(session.getPeerCertificate(true))
  return session
}

/**
 * Connects, runs `exchange` on the socket and closes it whatever happens. The socket is destroyed as soon as the signal
 * aborts, for exchanges with clients that take no signal (pg, a raw read): a stalled one ends now, not at the OS's
 * timeout.
 */
export async function withConnection<T>(target: Target, seen: ProbeResult, signal: AbortSignal, exchange: (socket: Socket) => Promise<T>): Promise<T> {
  const socket = await connect(target, seen, signal)
  const stop = () => socket.destroy()
  signal.addEventListener('abort', stop, {once: true})
  try {
    // It may have aborted before the listener was there (fail-fast settles other tasks in the same microtask queue).
    signal.throwIfAborted()
    return await exchange(socket)
  } finally {
    signal.removeEventListener('abort', stop)
    socket.destroy()
  }
}

const LOOPBACK: LookupAddress[] = [
  {address: '127.0.0.1', family: 4},
  {address: '::1', family: 6},
]

/**
 * All addresses of a host. `localhost` names are loopback on both families whatever /etc/hosts says (RFC 6761, as
 * browsers do): hosts files often list one family only, and a dev server may listen on the other.
 */
async function resolveAll(hostname: string, how: Target['resolve'] = {}): Promise<LookupAddress[]> {
  const {resolver, family} = how
  const ofFamily = (addresses: LookupAddress[]) => {
    const kept = family ? addresses.filter((address) => address.family === family) : addresses
    if (kept.length === 0) throw Object.assign(new Error(`${hostname} has no IPv${family} address`), {code: 'ENOTFOUND', hostname})
    return kept
  }
  if (isIP(hostname)) return ofFamily([{address: hostname, family: isIP(hostname)}])
  // Lower-cased here because URLs leave the host of a non-HTTP scheme (tcp://LocalHost) as written.
  if (/(^|\.)localhost$/.test(hostname.toLowerCase())) return ofFamily(LOOPBACK)
  if (resolver) return ofFamily(await resolveWith(resolver, hostname, family))
  return ofFamily(await lookup(hostname, {all: true, family: family ?? 0}))
}

/** The earliest expiry in the chain the server presented (an intermediate can expire before the leaf). */
function earliestExpiry(leaf: DetailedPeerCertificate): Date | undefined {
  let earliest: Date | undefined
  const visited = new Set<string>()
  // A self-signed certificate is its own issuer: the chain ends where it repeats.
  for (let cert = leaf; cert?.valid_to && !visited.has(cert.fingerprint256); cert = cert.issuerCertificate) {
    visited.add(cert.fingerprint256)
    const expires = new Date(cert.valid_to)
    if (earliest === undefined || expires < earliest) earliest = expires
  }
  return earliest
}
