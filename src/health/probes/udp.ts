import {createSocket} from 'node:dgram'
import {once} from 'node:events'
import {isIP} from 'node:net'

import type {Probe} from '../types.js'
import {targetOf} from './connect.js'
import {addPhase, observe} from './observe.js'

/**
 * udp://host:port: sends the body (or an empty datagram) and waits for an answer, which is `[BODY]`. UDP has no
 * connection, so `[CONNECTED]` means the peer answered; a port nothing listens on is `refused` where the host says so
 * (ICMP port unreachable), else a timeout. (Gatus calls a UDP endpoint connected once its socket is created.)
 */
export const udpProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const {host, port} = targetOf(url)
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
    try {
      const started = performance.now()
      socket.connect(port, host)
      await once(socket, 'connect', {signal: options.signal})
      const reply = once(socket, 'message', {signal: options.signal})
      socket.send(options.body ?? '')
      const [message] = (await reply) as [Buffer]
      addPhase(seen.phases, 'ttfb', performance.now() - started)
      seen.connected = true
      seen.ip = host
      seen.body = message.toString()
    } finally {
      socket.close()
    }
  })
