import {createSecureContext} from 'node:tls'

import {credentials, makeGenericClientConstructor, status as grpcStatus} from '@grpc/grpc-js'
import type {ServiceDefinition, ServiceError} from '@grpc/grpc-js'

import type {Probe} from '../types.js'
import {targetOf} from './connect.js'
import {ProbeFailure} from './errors.js'
import {addPhase, observe} from './observe.js'

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const

/**
 * The two messages of grpc.health.v1 (health.proto) in protobuf's wire format, written here rather than loaded from a
 * .proto: HealthCheckRequest is `string service = 1`, HealthCheckResponse `ServingStatus status = 1` (a varint).
 */
export function encodeHealthRequest(request: {service: string}): Buffer {
  const service = Buffer.from(request.service)
  return service.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(service.length)]), service])
}

export function decodeHealthRequest(bytes: Buffer): {service: string} {
  return {service: bytes.length === 0 ? '' : fieldBytes(bytes, 0x0a)?.toString() ?? ''}
}

export function encodeHealthResponse(response: {status: string}): Buffer {
  const value = Math.max(0, SERVING_STATUS.indexOf(response.status as (typeof SERVING_STATUS)[number]))
  return value === 0 ? Buffer.alloc(0) : Buffer.from([0x08, ...varint(value)])
}

export function decodeHealthResponse(bytes: Buffer): {status: string} {
  let value = 0
  for (let i = 0; i < bytes.length; ) {
    const tag = bytes[i++]!
    const [field, wire] = [tag >> 3, tag & 7]
    const read = readVarint(bytes, i)
    if (wire !== 0) throw new Error(`unexpected wire type ${wire} in a HealthCheckResponse`)
    i = read.next
    if (field === 1) value = read.value
  }
  return {status: SERVING_STATUS[value] ?? String(value)}
}

function varint(value: number): number[] {
  const bytes: number[] = []
  for (; value > 0x7f; value >>>= 7) bytes.push((value & 0x7f) | 0x80)
  bytes.push(value)
  return bytes
}

function readVarint(bytes: Buffer, start: number): {value: number; next: number} {
  let value = 0
  let i = start
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[i++]
    if (byte === undefined) throw new Error('a truncated varint')
    value += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) return {value, next: i}
  }
}

function fieldBytes(bytes: Buffer, tag: number): Buffer | undefined {
  if (bytes[0] !== tag) return undefined
  const {value, next} = readVarint(bytes, 1)
  return bytes.subarray(next, next + value)
}

/** grpc.health.v1.Health, for the probe's client and a test's server alike. */
export const HEALTH_SERVICE: ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeHealthRequest,
    requestDeserialize: decodeHealthRequest,
    responseSerialize: encodeHealthResponse,
    responseDeserialize: decodeHealthResponse,
  },
}

/** Node's messages for a failed TLS handshake or certificate check (OpenSSL's X509 verify texts, checkServerIdentity's). */
const TLS_FAILURE = /certificate|Hostname\/IP does not match|self.signed|ssl|tls|handshake/i

const HealthClient = makeGenericClientConstructor(HEALTH_SERVICE, 'grpc.health.v1.Health')

/**
 * grpc://host:port and grpcs://: `grpc.health.v1.Health/Check` (the gRPC health checking protocol) through
 * @grpc/grpc-js; `[BODY]` is the answer as JSON (`{"status":"SERVING"}`, so `[BODY].status == SERVING`), `[CONNECTED]`
 * an answer of any kind. The service asked about is the URL's path without its `/` (empty: the whole server).
 * grpc-js makes its own connection, so the only phase is ttfb, the call.
 */
export const grpcProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const {host, port} = targetOf(url)
    const secure = url.protocol === 'grpcs:'
    // A context of Node's own, so that grpcs:// trusts the CAs every other probe trusts (Node's and NODE_EXTRA_CA_CERTS):
    // grpc-js's createSsl trusts only GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when that is set, and some images set it.
    const channel = secure
      ? credentials.createFromSecureContext(createSecureContext({cert: options.clientCertificate?.cert, key: options.clientCertificate?.key}), {
          rejectUnauthorized: !options.insecure,
          ...(options.insecure ? {checkServerIdentity: () => undefined} : {}),
        })
      : credentials.createInsecure()
    const client = new HealthClient(`${host.includes(':') ? `[${host}]` : host}:${port}`, channel)
    const stop = () => client.close()
    options.signal.addEventListener('abort', stop, {once: true})
    const started = performance.now()
    try {
      const answer = await new Promise<{status: string}>((resolve, reject) => {
        client.makeUnaryRequest(HEALTH_SERVICE.Check!.path, encodeHealthRequest, decodeHealthResponse, {service: decodeURIComponent(url.pathname.slice(1))}, (error: ServiceError | null, value?: {status: string}) =>
          error ? reject(error) : resolve(value!),
        )
      })
      addPhase(seen.phases, 'ttfb', performance.now() - started)
      seen.connected = true
      seen.ip = host
      seen.body = JSON.stringify(answer)
    } catch (error) {
      const failure = error as ServiceError
      if (options.signal.aborted || failure.code === undefined) throw error
      if (failure.code === grpcStatus.UNAVAILABLE) {
        // grpc-js hands on only the text of the handshake's error: a certificate refused is told by Node's words for it.
        const cause = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:|$)/.exec(failure.details)?.[1]
        if (secure && cause && TLS_FAILURE.test(cause)) throw new ProbeFailure('tls', `gRPC over TLS: ${cause}`)
        throw new ProbeFailure('refused', `gRPC server unavailable: ${failure.details}`)
      }
      throw new ProbeFailure('protocol', `gRPC ${grpcStatus[failure.code]}: ${failure.details}`)
    } finally {
      options.signal.removeEventListener('abort', stop)
      client.close()
    }
  })
