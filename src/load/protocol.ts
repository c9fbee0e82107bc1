import {UsageError} from '../cli/errors.js'
import type {LoadPlan} from './load-state.js'
import type {Origin} from './requests.js'
import {negotiate, tlsPlanOf} from './tls.js'
import type {TlsOptions} from './tls.js'

export interface ProtocolOptions extends Partial<TlsOptions> {
  http: string
  streams: number
  timeoutMs: number
}

/**
 * TLS and the HTTP version of a run, settled before it starts: `--http 2` is HTTP/2 over TLS or h2c over http://;
 * `--http auto` asks the server by ALPN once (plain TCP has no ALPN: HTTP/1.1 there).
 */
export async function protocolPlan(origin: Origin, options: ProtocolOptions): Promise<Pick<LoadPlan, 'tls' | 'http2'>> {
  const tlsOptions: TlsOptions = {insecure: options.insecure ?? false, ca: options.ca, cert: options.cert, key: options.key, servername: options.servername}
  const http2 = {streams: options.streams}
  if (!origin.secure) {
    const given = (['ca', 'cert', 'key', 'servername', 'insecure'] as const).filter((flag) => options[flag] !== undefined && options[flag] !== false)
    if (given.length > 0) throw new UsageError(`--${given[0]} applies to https:// URLs only; the URL is http://`)
    return options.http === '2' ? {http2} : {}
  }
  if (options.http === '1.1') return {tls: await tlsPlanOf(origin, tlsOptions, ['http/1.1'])}
  const tls = await tlsPlanOf(origin, tlsOptions, ['h2'])
  if (options.http === '2' || (await negotiate(origin, tls, options.timeoutMs)) === 'h2') return {tls, http2}
  return {tls: {...tls, alpn: ['http/1.1']}}
}
