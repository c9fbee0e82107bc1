import type {Socket} from 'node:net'

import type {Probe} from '../types.js'
import {startTls, targetFor, withConnection} from './connect.js'
import {ProbeFailure} from './errors.js'
import {observe} from './observe.js'

/**
 * starttls://host:port: SMTP's STARTTLS (RFC 3207) — the greeting, EHLO, STARTTLS advertised and accepted — then the
 * TLS handshake on the same connection, the certificate verified unless `insecure` and its expiry reported, as for
 * tls://. Then QUIT. Phases: dns, connect, tls.
 */
export const starttlsProbe: Probe = (url, options) =>
  observe(options.signal, (seen) => {
    // TLS comes after STARTTLS, on the same connection: the connection itself is plain.
    const {tls, ...target} = targetFor(url, options, 25, true)
    return withConnection(target, seen, options.signal, async (socket) => {
      seen.connected = false // connected means the TLS session is up
      const replies = smtpReplies(socket)
      expect(await next(replies), 220, 'greeting')
      socket.write('EHLO fanout.healthcheck\r\n')
      const ehlo = expect(await next(replies), 250, 'EHLO')
      if (!ehlo.lines.some((line) => /^STARTTLS\b/i.test(line))) throw new ProbeFailure('protocol', 'the SMTP server does not offer STARTTLS')
      socket.write('STARTTLS\r\n')
      expect(await next(replies), 220, 'STARTTLS')
      await replies.return(undefined)
      const session = await startTls(socket, target.host, tls!, seen, options.signal)
      seen.connected = true
      session.end('QUIT\r\n')
    })
  })

interface Reply {
  code: number
  lines: string[]
}

function expect(reply: Reply, code: number, step: string): Reply {
  if (reply.code !== code) throw new ProbeFailure('protocol', `SMTP ${step}: expected ${code}, the server said ${reply.code} ${reply.lines.join(' ')}`)
  return reply
}

async function next(replies: AsyncGenerator<Reply>): Promise<Reply> {
  const {value, done} = await replies.next()
  if (done) throw new ProbeFailure('reset', 'the SMTP server closed the connection')
  return value
}

/** SMTP replies (RFC 5321 §4.2): `250-…` lines continue a reply, `250 …` ends it. Stops reading when returned. */
async function* smtpReplies(socket: Socket): AsyncGenerator<Reply> {
  let buffered = ''
  let lines: string[] = []
  const chunks: string[] = []
  let wake: (() => void) | undefined
  let ended = false
  const onData = (chunk: Buffer) => {
    chunks.push(chunk.toString('latin1'))
    wake?.()
  }
  const onEnd = () => {
    ended = true
    wake?.()
  }
  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('close', onEnd)
  try {
    for (;;) {
      if (chunks.length === 0) {
        if (ended) return
        await new Promise<void>((resolve) => (wake = resolve))
        continue
      }
      buffered += chunks.shift()
      if (buffered.length > 64 * 1024) throw new ProbeFailure('protocol', 'no SMTP reply: 64 KiB without a line end')
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const match = /^(\d{3})([ -])(.*)$/.exec(line)
        if (!match) throw new ProbeFailure('protocol', `not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`)
        lines.push(match[3]!)
        if (match[2] === ' ') {
          yield {code: Number(match[1]), lines}
          lines = []
        }
      }
    }
  } finally {
    // The socket goes on to carry TLS: nothing may read it from here on.
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', onEnd)
  }
}
