import {execFile} from 'node:child_process'

import type {Probe} from '../types.js'
import {targetOf} from './connect.js'
import {ProbeFailure} from './errors.js'
import {observe} from './observe.js'

/**
 * icmp://host: one echo request through the system's `ping` (iputils), which may send ICMP where a Node process has no
 * raw socket. `[CONNECTED]` is a reply; `[RESPONSE_TIME]` its round-trip time as ping measured it, as in Gatus.
 */
export const icmpProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const {host} = targetOf(url)
    const family = options.family ? [`-${options.family}`] : []
    const {code, stdout, stderr} = await ping(['-n', '-c', '1', ...family, host], options.signal)
    seen.ip = /^PING [^(]*\(([^)]+)\)/m.exec(stdout)?.[1] ?? host
    const rtt = /time=([\d.]+) ms/.exec(stdout)?.[1]
    if (code === 0 && rtt !== undefined) {
      seen.connected = true
      seen.responseTimeMs = Number(rtt)
      return
    }
    const said = stderr.trim().split('\n')[0] ?? ''
    if (/Name or service not known|Temporary failure in name resolution/.test(said)) {
      throw Object.assign(new Error(said), {code: 'ENOTFOUND', hostname: host})
    }
    throw new ProbeFailure(code === 1 ? 'timeout' : 'protocol', code === 1 ? `no echo reply from ${seen.ip}` : `ping: ${said || `exit ${code}`}`)
  })

function ping(args: string[], signal: AbortSignal): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    execFile('ping', args, {signal, encoding: 'utf8'}, (error, stdout, stderr) => {
      const failure = error as (NodeJS.ErrnoException & {code?: unknown}) | null
      if (failure?.name === 'AbortError') return reject(failure)
      if (failure?.code === 'ENOENT') {
        return reject(new ProbeFailure('protocol', 'icmp:// needs the system ping (Debian: apt-get install iputils-ping)'))
      }
      resolve({code: typeof failure?.code === 'number' ? failure.code : 0, stdout, stderr})
    })
  })
}
