import {StringDecoder} from 'node:string_decoder'

import {Client} from 'undici'

import {maskUrl} from '../../report/mask.js'
import type {Probe, ProbeOptions, ProbeResult} from '../types.js'
import {connect, targetOf} from './connect.js'
import {ProbeFailure} from './errors.js'
import {addPhase, observe} from './observe.js'
import {redirectedRequest} from './redirect.js'
import type {HttpRequest} from './redirect.js'

/**
 * http(s)://…: the request, redirects followed up to `maxRedirects`, the final body read to its end with at most
 * `maxBodyBytes` kept. Phases: dns, connect, tls (https) as connections are made; ttfb, from the request written to
 * the response headers; transfer, from the headers to the body's end. Each phase adds up over redirects, so that
 * together they account for the response time.
 */
export const httpProbe: Probe = (url, options) =>
  observe(options.signal, (seen) => follow({url, method: options.method, headers: options.headers, body: options.body}, options, seen))

async function follow(first: HttpRequest, options: ProbeOptions, seen: ProbeResult): Promise<void> {
  let request = first
  let origin: Origin | undefined
  try {
    for (let redirects = 0; ; redirects++) {
      // A redirect within the origin reuses its connection; one elsewhere needs another.
      if (origin?.url.origin !== request.url.origin) {
        await origin?.close()
        origin = new Origin(request.url, options, seen)
      }
      const {url, method, headers, body} = request
      const sent = performance.now()
      const response = await origin.client.request({path: url.pathname + url.search, method, headers, body, signal: options.signal})
      const headersAt = performance.now()
      // On a new connection the request is written once it is up, not when it was queued.
      addPhase(seen.phases, 'ttfb', headersAt - Math.max(sent, origin.readyAt))
      const next = redirectedRequest(request, response.statusCode, response.headers.location)
      if (next === undefined) {
        seen.status = response.statusCode
        seen.body = await readBody(response.body, options.maxBodyBytes)
        addPhase(seen.phases, 'transfer', performance.now() - headersAt)
        return
      }
      if (redirects === options.maxRedirects) {
        throw new ProbeFailure('protocol', `redirect limit (${options.maxRedirects}) exceeded at ${maskUrl(url)}`)
      }
      await response.body.dump()
      addPhase(seen.phases, 'transfer', performance.now() - headersAt)
      request = next
    }
  } finally {
    await origin?.close()
  }
}

/**
 * The connection to one origin: an undici Client of its own (the probe's one connection, closed with it) whose
 * connector is `connect`, so that phases, address and certificate are recorded as for every other scheme.
 */
class Origin {
  readonly client: Client
  /** When the connection came up. */
  readyAt = 0

  constructor(
    readonly url: URL,
    options: ProbeOptions,
    seen: ProbeResult,
  ) {
    const https = url.protocol === 'https:'
    const target = targetOf(url, https ? 443 : 80, https ? {insecure: options.insecure} : undefined)
    this.client = new Client(url.origin, {
      connect: (_details, callback) => {
        connect(target, seen, options.signal).then(
          (socket) => {
            this.readyAt = performance.now()
            callback(null, socket)
          },
          (error: Error) => callback(error, null),
        )
      },
    })
  }

  close(): Promise<void> {
    return this.client.close()
  }
}

/** Reads a body to its end, keeping at most `limit` bytes as UTF-8 text: a large body streams through, never held. */
async function readBody(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const decoder = new StringDecoder('utf8')
  let text = ''
  let room = limit
  let cut = false
  for await (const chunk of body) {
    const kept = chunk.subarray(0, room)
    room -= kept.length
    cut ||= kept.length < chunk.length
    if (kept.length > 0) text += decoder.write(kept)
  }
  // A character cut in two by the limit is left out rather than shown as U+FFFD.
  return cut ? text : text + decoder.end()
}
