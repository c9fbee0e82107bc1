import {request as httpRequest} from 'node:http'
import type {ClientRequestArgs, IncomingMessage} from 'node:http'
import type {Socket} from 'node:net'
import {StringDecoder} from 'node:string_decoder'

import {maskUrl} from '../../report/mask.js'
import type {Probe, ProbeOptions, ProbeResult} from '../types.js'
import {connect, targetFor} from './connect.js'
import {ProbeFailure, classify} from './errors.js'
import {addPhase, observe} from './observe.js'
import {proxyAuthorization, tunnel} from './proxy.js'
import {redirectedRequest} from './redirect.js'
import type {HttpRequest} from './redirect.js'

/**
 * http(s)://…: the request, redirects followed up to `maxRedirects` (unless `ignoreRedirects`), the final body read up
 * to `maxBodyBytes`. Node's HTTP client, because it skips interim 1xx answers as RFC 9110 says (undici drops the
 * connection on an unsolicited `100 Continue`). Phases: dns, connect, tls (https) as connections are made; ttfb, from
 * the request written to the response headers; transfer, from the headers to the body's end. Each hop has its own
 * connection and each phase adds up over redirects, so that together they account for the response time.
 * Through `proxy` (an HTTP proxy), http:// is asked of the proxy for the whole URL and https:// goes through a tunnel
 * the proxy opens (CONNECT, ./proxy.ts), with the destination's certificate verified at the end of it.
 */
export const httpProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const headers = options.authorize ? {...options.headers, authorization: await options.authorize(options.signal)} : options.headers
    return follow({url, method: options.method, headers, body: options.body}, options, seen)
  })

async function follow(first: HttpRequest, options: ProbeOptions, seen: ProbeResult): Promise<void> {
  const hops: string[] = []
  let request = first
  for (let redirects = 0; ; redirects++) {
    let response: IncomingMessage
    let headersAt: number
    try {
      ;({response, headersAt} = await send(request, options, seen))
    } catch (error) {
      // A redirect to somewhere unreachable is the redirect's fault as much as the target's: name the hop.
      if (hops.length === 0 || options.signal.aborted) throw error
      const {code, message} = classify(error)
      throw new ProbeFailure(code, `${message} (after redirect ${hops.join(' -> ')} -> ${maskUrl(request.url)})`)
    }
    const next = options.ignoreRedirects ? undefined : redirectedRequest(request, response.statusCode ?? 0, response.headers.location)
    if (next === undefined) {
      seen.status = response.statusCode
      const body = await readBody(response, options.maxBodyBytes)
      seen.body = body.text
      if (body.over) seen.bodyOverLimit = options.maxBodyBytes
      addPhase(seen.phases, 'transfer', performance.now() - headersAt)
      return
    }
    response.destroy()
    addPhase(seen.phases, 'transfer', performance.now() - headersAt)
    if (redirects === options.maxRedirects) {
      throw new ProbeFailure('protocol', `redirect limit (${options.maxRedirects}) exceeded at ${maskUrl(request.url)}`)
    }
    hops.push(maskUrl(request.url))
    request = next
  }
}

/** One request on a connection of its own, made by `connect` so that phases, address and certificate are recorded. */
function send({url, method, headers, body}: HttpRequest, options: ProbeOptions, seen: ProbeResult): Promise<{response: IncomingMessage; headersAt: number}> {
  const https = url.protocol === 'https:'
  const proxy = options.proxy
  const destination = targetFor(url, options, https ? 443 : 80, https)
  // http:// goes to the proxy as a request for the whole URL; https:// through a tunnel the proxy opens (CONNECT).
  const open = (): Promise<Socket> => {
    if (!proxy) return connect(destination, seen, options.signal)
    const via = targetFor(proxy, options, 80)
    return destination.tls ? tunnel(proxy, via, {...destination, tls: destination.tls}, seen, options.signal) : connect(via, seen, options.signal)
  }
  const forwarded = proxy && !https
  return new Promise((resolve, reject) => {
    let readyAt = 0
    const sent = performance.now()
    const createConnection = ((_options: ClientRequestArgs, created: (error: Error | null, socket?: Socket) => void) => {
      open().then(
        (socket) => {
          readyAt = performance.now()
          created(null, socket)
        },
        (error: Error) => created(error),
      )
      return undefined
    }) as unknown as ClientRequestArgs['createConnection']
    const request = httpRequest({
      method,
      // Through a proxy the request line carries the whole URL (RFC 9112 §3.2.2).
      path: forwarded ? url.href : url.pathname + url.search,
      headers: {host: url.host, ...headers, ...(forwarded ? proxyAuthorization(proxy) : {})},
      signal: options.signal,
      createConnection,
    })
    request.on('error', reject)
    request.once('response', (response) => {
      const headersAt = performance.now()
      // On a new connection the request is written once it is up, not when it was made.
      addPhase(seen.phases, 'ttfb', headersAt - Math.max(sent, readyAt))
      response.on('error', () => {}) // readBody sees errors as it reads; one after destroy() is no finding
      resolve({response, headersAt})
    })
    request.end(body)
  })
}

/**
 * Reads a body up to `limit` bytes as UTF-8 text; past the limit the connection is closed and `over` says the body was
 * cut, so that a condition on it says why rather than judging part of it.
 */
async function readBody(body: IncomingMessage, limit: number): Promise<{text: string; over: boolean}> {
  const decoder = new StringDecoder('utf8')
  const chunks: string[] = []
  let room = limit
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (chunk.length > room) {
      body.destroy()
      return {text: chunks.join(''), over: true}
    }
    room -= chunk.length
    chunks.push(decoder.write(chunk))
  }
  return {text: chunks.join('') + decoder.end(), over: false}
}
