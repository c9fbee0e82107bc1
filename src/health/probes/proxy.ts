import {request as httpRequest} from 'node:http'
import type {IncomingMessage} from 'node:http'
import type {Socket} from 'node:net'
import type {TLSSocket} from 'node:tls'

import {maskUrl} from '../../report/mask.js'
import type {ProbeResult} from '../types.js'
import {connect, startTls} from './connect.js'
import type {Target} from './connect.js'
import {ProbeFailure} from './errors.js'
import {addPhase} from './observe.js'

/** `Proxy-Authorization` for a proxy URL with credentials (http://user:pass@proxy:3128), as Go's client sends it for Gatus. */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (proxy.username === '' && proxy.password === '') return {}
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return {'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}`}
}

/**
 * A TLS session with `destination` through an HTTP proxy's tunnel (CONNECT, RFC 9110 §9.3.6), asked with Node's HTTP
 * client on a connection made by `connect`. Phases: dns and connect of the proxy, the CONNECT round trip added to
 * connect (the connection to the destination is up once the tunnel is), then tls with the destination, whose
 * certificate is verified and whose expiry is recorded. `ip` is the proxy's address: the one fanout connected to.
 */
export async function tunnel(proxy: URL, via: Target, destination: Target & {tls: NonNullable<Target['tls']>}, seen: ProbeResult, signal: AbortSignal): Promise<TLSSocket> {
  const socket = await connect(via, seen, signal)
  // Connected means the destination's TLS session is up, not the proxy's TCP connection.
  seen.connected = false
  try {
    const started = performance.now()
    const authority = `${destination.host.includes(':') ? `[${destination.host}]` : destination.host}:${destination.port}`
    const {response, tunnelled} = await new Promise<{response: IncomingMessage; tunnelled: Socket}>((resolve, reject) => {
      const request = httpRequest({
        method: 'CONNECT',
        path: authority,
        headers: {host: authority, ...proxyAuthorization(proxy)},
        signal,
        createConnection: () => socket,
      })
      request.once('connect', (answer: IncomingMessage, tunnelled: Socket) => resolve({response: answer, tunnelled}))
      request.once('error', reject)
      request.end()
    })
    if (response.statusCode !== 200) {
      throw new ProbeFailure('protocol', `proxy ${maskUrl(proxy)} refused the tunnel to ${authority}: HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd())
    }
    addPhase(seen.phases, 'connect', performance.now() - started)
    const session = await startTls(tunnelled, destination.host, destination.tls, seen, signal)
    seen.connected = true
    return session
  } catch (error) {
    socket.destroy()
    throw error
  }
}
