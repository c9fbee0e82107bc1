import {createServer} from 'node:http'
import type {Server} from 'node:http'
import {hostname} from 'node:os'

import {Registry} from 'prom-client'

import {UsageError} from '../cli/errors.js'
import {abortableSleep} from '../engine/index.js'
import {maskCredentials} from '../report/mask.js'
import {WriteFailed, checkOutputPath, writeAtomically} from '../report/write-file.js'
import {EngineMetrics} from './engine-metrics.js'
import {exposition} from './exposition.js'
import {DeliveryFailed, wantsMetrics} from './options.js'
import type {MetricsOptions} from './options.js'
import {pushGroup} from './push.js'

/**
 * A command's metrics, when asked for: a registry, a /metrics server for the run's duration, the final figures
 * pushed to a Pushgateway (the convention for batch jobs) or written to a textfile. `open` returns undefined when
 * none is asked for, so that metrics cost nothing when off.
 */
export class MetricsSession {
  readonly registry = new Registry()
  readonly engine: EngineMetrics
  private server: Server | undefined

  private constructor(
    readonly command: string,
    private readonly options: MetricsOptions,
  ) {
    this.engine = new EngineMetrics(this.registry, command)
  }

  static async open(command: string, options: MetricsOptions): Promise<MetricsSession | undefined> {
    if (!wantsMetrics(options)) return undefined
    // Every place the figures go is checked before any work: a bad one is exit 2 now, not a lost report later.
    const listen = options.addr === undefined ? undefined : parseAddress(options.addr)
    if (options.file !== undefined) await checkOutputPath('--metrics-file', options.file)
    if (options.pushgateway !== undefined) checkGateway(options.pushgateway)
    const session = new MetricsSession(command, options)
    if (listen !== undefined) await session.serve(options.addr!, listen)
    return session
  }

  /** The address /metrics is served on (with the port the OS chose for port 0). */
  get address(): string | undefined {
    const address = this.server?.address()
    return address && typeof address === 'object' ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : undefined
  }

  private async serve(addr: string, {host, port}: Address): Promise<void> {
    this.server = createServer(async (request, response) => {
      if (request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404).end('fanout serves /metrics\n')
        return
      }
      response.writeHead(200, {'content-type': this.registry.contentType}).end(await exposition(this.registry))
    })
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (error: NodeJS.ErrnoException) =>
        reject(new UsageError(`--metrics-addr: cannot listen on ${addr} (${error.code ?? error.message}); pick a free port`)),
      )
      this.server!.listen(port, host, resolve)
    })
  }

  /**
   * After the final figures are recorded: pushes them (a push failure is a line on stderr, and an error only with
   * --push-required), keeps /metrics up for --metrics-linger, then closes it.
   */
  async close(signal: AbortSignal): Promise<void> {
    let failed: WriteFailed | undefined
    try {
      const text = await exposition(this.registry)
      // A file that cannot be written still lets the push and the linger go on; it is reported after them.
      if (this.options.file !== undefined) await writeAtomically(this.options.file, text).catch((error: WriteFailed) => (failed = error))
      if (this.options.pushgateway !== undefined) await this.push(this.options.pushgateway, text)
      if (this.server && this.options.lingerMs > 0) await abortableSleep(this.options.lingerMs, signal).catch(() => {})
    } finally {
      this.server?.closeAllConnections()
      await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)))
    }
    if (failed) throw new DeliveryFailed(`--metrics-file: ${failed.message}; exiting 1`)
  }

  private async push(url: string, text: string): Promise<void> {
    try {
      await pushGroup(url, {job: this.options.pushJob ?? `fanout_${this.command.replaceAll(' ', '_')}`, instance: hostname(), ...this.options.groupings}, text, this.registry.contentType, 5000)
    } catch (error) {
      const line = maskCredentials(`--pushgateway: could not push to ${url} (${(error as Error).message})`)
      if (this.options.pushRequired) throw new DeliveryFailed(`${line}; exiting 1 (--push-required)`)
      process.stderr.write(`fanout ${this.command}: ${line}; the command's result stands\n`)
    }
  }
}

interface Address {
  host: string
  port: number
}

/** `host:port`, `[::1]:port` or `:port` (127.0.0.1), the port 0 to 65535. */
export function parseAddress(addr: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr)
  const port = Number(match?.[3])
  if (!match || port > 65_535) throw new UsageError(`--metrics-addr expects host:port with a port from 0 to 65535, e.g. 127.0.0.1:9464; got "${addr}"`)
  return {host: match[1] ?? (match[2] || '127.0.0.1'), port}
}

function checkGateway(url: string): void {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new UsageError(maskCredentials(`--pushgateway expects an http:// or https:// URL, e.g. http://127.0.0.1:9091; got "${url}"`))
  }
}
