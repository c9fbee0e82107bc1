import type {Socket} from 'node:net'

import {Client} from 'pg'

import {maskUrl} from '../../report/mask.js'
import type {Probe} from '../types.js'
import {targetOf, withConnection} from './connect.js'
import {ProbeFailure} from './errors.js'
import {observe} from './observe.js'

/**
 * postgres://user:password@host:port/database: logs in and runs `SELECT 1`. A login the server refuses (no such role,
 * wrong password, no such database) is `auth`. Phases: dns, connect; ttfb is the `SELECT 1` round trip.
 */
export const postgresProbe: Probe = (url, options) =>
  observe(options.signal, (seen) => {
    const target = targetOf(url, 5432)
    return withConnection(target, seen, options.signal, async (socket) => {
      const client = new Client({
        host: target.host,
        port: target.port,
        user: decodeURIComponent(url.username) || undefined,
        database: decodeURIComponent(url.pathname.slice(1)) || undefined,
        // A function is asked only when the server wants a password, and keeps pg from falling back to ~/.pgpass.
        password: () => password(url),
        application_name: 'fanout healthcheck',
        stream: () => alreadyConnected(socket),
      })
      // Errors also reach the awaited calls; without a listener, one arriving while idle would crash the process.
      client.on('error', () => {})
      try {
        await client.connect()
        const sent = performance.now()
        await client.query('SELECT 1')
        seen.phases.ttfb = performance.now() - sent
      } finally {
        // Says goodbye (a Terminate message) so that the server does not log an unexpected EOF.
        await client.end()
      }
    })
  })

function password(url: URL): string {
  if (url.password) return decodeURIComponent(url.password)
  throw new ProbeFailure('auth', `the server asks for a password and ${maskUrl(url)} gives none`)
}

/**
 * pg connects the stream it is given itself; this one is connected already (by `connect`, which tries every address
 * and times the phases), so its `connect` only tells pg that it is.
 */
function alreadyConnected(socket: Socket): Socket {
  socket.connect = (() => {
    process.nextTick(() => socket.emit('connect'))
    return socket
  }) as Socket['connect']
  return socket
}
