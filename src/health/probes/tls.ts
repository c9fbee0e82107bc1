import type {Probe} from '../types.js'
import {connect, targetFor} from './connect.js'
import {observe} from './observe.js'

/**
 * tls://host:port: a TLS handshake succeeds, the certificate verified against the host name unless `insecure`; its
 * expiry is reported either way. Phases: dns (for a host name), connect, tls.
 */
export const tlsProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const socket = await connect(targetFor(url, options, undefined, true), seen, options.signal)
    socket.destroy()
  })
