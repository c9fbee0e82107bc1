import type {Socket} from 'node:net'

import type {Probe} from '../types.js'
import {targetOf, withConnection} from './connect.js'
import {ProbeFailure} from './errors.js'
import {observe} from './observe.js'

/**
 * redis://[[user]:password@]host:port[/db]: AUTH when the URL has a password, SELECT when it names a database, then
 * PING, sent at once; every reply must be the expected simple string. A refused AUTH (or NOAUTH, WRONGPASS) is `auth`,
 * anything else unexpected `protocol`. Phases: dns, connect; ttfb from the commands written to the first reply.
 */
export const redisProbe: Probe = (url, options) =>
  observe(options.signal, (seen) =>
    withConnection(targetOf(url, 6379), seen, options.signal, async (socket) => {
      const commands = commandsFor(url)
      socket.write(commands.map(({args}) => encode(args)).join(''))
      const sent = performance.now()
      const replies = replyLines(socket)
      for (const command of commands) {
        const {value: reply} = await replies.next()
        seen.phases.ttfb ??= performance.now() - sent
        check(command, reply)
      }
    }),
  )

interface Command {
  args: string[]
  expect: string
}

function commandsFor(url: URL): Command[] {
  const commands: Command[] = []
  if (url.password) {
    const password = decodeURIComponent(url.password)
    const args = url.username ? ['AUTH', decodeURIComponent(url.username), password] : ['AUTH', password]
    commands.push({args, expect: '+OK'})
  }
  const db = url.pathname.slice(1)
  if (db) commands.push({args: ['SELECT', db], expect: '+OK'})
  commands.push({args: ['PING'], expect: '+PONG'})
  return commands
}

/** A command as a RESP array of bulk strings, which carries any byte (a password with spaces) as it is. */
function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
}

const AUTH_REFUSED = /^-(WRONGPASS|NOAUTH)\b/

function check({args: [name], expect}: Command, reply: string): void {
  if (reply === expect) return
  if (reply.startsWith('-') && (name === 'AUTH' || AUTH_REFUSED.test(reply))) {
    throw new ProbeFailure('auth', `Redis refused ${name}: ${reply.slice(1)}`)
  }
  const shown = reply.length > 100 ? `${reply.slice(0, 100)}…` : reply
  throw new ProbeFailure('protocol', `expected ${expect} in reply to ${name}, got ${JSON.stringify(shown)}`)
}

/** A reply with no line end this far in is no Redis reply to these commands. */
const MAX_LINE = 64 * 1024

/** The socket's lines, without their CRLF; a connection that ends before the replies do is `reset`. */
async function* replyLines(socket: Socket): AsyncGenerator<string, never> {
  let buffered = ''
  socket.setEncoding('utf8')
  for await (const chunk of socket) {
    buffered += chunk as string
    for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
      yield buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
    }
    if (buffered.length > MAX_LINE) throw new ProbeFailure('protocol', `no Redis reply: ${MAX_LINE} bytes without a line end`)
  }
  throw new ProbeFailure('reset', 'the server closed the connection before replying')
}
