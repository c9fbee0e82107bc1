import {once} from 'node:events'

import WebSocket from 'ws'

import type {Probe} from '../types.js'
import {observe, addPhase} from './observe.js'

/**
 * ws:// and wss://: the WebSocket handshake (ws), headers sent with it; with a body, the body is sent and `[BODY]` is
 * the first message back, as in Gatus. `[CONNECTED]` is an open WebSocket; a handshake answered with another status
 * is `protocol`, with the status in `[STATUS]`.
 */
export const wsProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const started = performance.now()
    const socket = new WebSocket(url, {
      headers: options.headers,
      rejectUnauthorized: !options.insecure,
      ...options.clientCertificate,
      followRedirects: false,
    })
    socket.on('unexpected-response', (_request, response) => {
      seen.status = response.statusCode
      socket.emit('error', Object.assign(new Error(`the server answered the WebSocket handshake with HTTP ${response.statusCode}`), {code: 'WS_HANDSHAKE'}))
      response.destroy()
    })
    socket.on('upgrade', (response) => {
      seen.status = response.statusCode
      seen.ip = response.socket.remoteAddress
    })
    try {
      await once(socket, 'open', {signal: options.signal})
      seen.connected = true
      addPhase(seen.phases, 'connect', performance.now() - started)
      if (options.body === undefined) return
      const sent = performance.now()
      const message = once(socket, 'message', {signal: options.signal})
      socket.send(options.body)
      const [data] = (await message) as [WebSocket.RawData]
      addPhase(seen.phases, 'ttfb', performance.now() - sent)
      seen.body = Buffer.isBuffer(data) ? data.toString() : Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data).toString()
    } finally {
      socket.terminate()
    }
  })
