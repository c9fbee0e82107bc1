import {Client} from 'ssh2'

import type {Probe} from '../types.js'
import {targetFor, withConnection} from './connect.js'
import {ProbeFailure} from './errors.js'
import {addPhase, observe} from './observe.js'

/**
 * ssh://host[:port] with Gatus's `ssh: {username, password, private-key, passphrase}`: the SSH handshake and login (ssh2), over a connection
 * made by `connect` so that dns and connect phases are recorded. `[CONNECTED]` is a session logged in; with a body,
 * the body runs as a command, `[STATUS]` is its exit code and `[BODY]` its output. A refused login is `auth`.
 */
export const sshProbe: Probe = (url, options) =>
  observe(options.signal, (seen) =>
    withConnection(targetFor(url, options, 22), seen, options.signal, async (socket) => {
      // Connected means logged in, here: a TCP connection alone says nothing of the SSH server.
      seen.connected = false
      const client = new Client()
      const started = performance.now()
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('ready', resolve)
          client.once('error', (error: Error & {level?: string}) =>
            reject(error.level === 'client-authentication' ? new ProbeFailure('auth', `the SSH server refused the login of "${options.ssh?.username ?? ''}"`) : error),
          )
          const password = options.ssh?.password || decodeURIComponent(url.password) || undefined
          const privateKey = options.ssh?.privateKey
          client.connect({
            sock: socket,
            username: options.ssh?.username || decodeURIComponent(url.username),
            password,
            privateKey,
            passphrase: options.ssh?.passphrase,
            // The key first, then the password, as Gatus offers them.
            authHandler: [...(privateKey ? ['publickey' as const] : []), ...(password ? ['password' as const] : []), 'none' as const],
            readyTimeout: 2 ** 31 - 1, // the probe's signal is the timeout
          })
        })
        seen.connected = true
        addPhase(seen.phases, 'ttfb', performance.now() - started)
        if (options.body === undefined || options.body === '') return
        const {code, output} = await run(client, options.body)
        seen.status = code
        seen.body = output
      } finally {
        client.end()
      }
    }),
  )

/** Runs a command, collecting stdout (bounded) and the exit code. */
function run(client: Client, command: string): Promise<{code: number; output: string}> {
  const LIMIT = 64 * 1024
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(new ProbeFailure('protocol', `the SSH server refused to run the command (${error.message})`))
      let output = ''
      stream.on('data', (chunk: Buffer) => {
        if (output.length < LIMIT) output += chunk.toString()
      })
      stream.stderr.resume()
      stream.on('close', (code: number | null) => resolve({code: code ?? -1, output}))
    })
  })
}
