import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {isIP, connect as connectTcp} from 'node:net'
import type {Socket} from 'node:net'
import {connect as connectTls, createSecureContext, rootCertificates} from 'node:tls'
import type {ConnectionOptions, SecureContext, TLSSocket} from 'node:tls'

import {UsageError} from '../cli/errors.js'
import type {Origin} from './requests.js'

/** What a thread needs to open TLS connections: PEM text only, so that it crosses to worker threads as is. */
export interface TlsPlan {
  /** The CAs to trust: --ca alone, else Node's bundle, the system's and NODE_EXTRA_CA_CERTS; none under --insecure. */
  ca: string[]
  cert?: string
  key?: string
  /** --insecure: no certificate verification at all. */
  insecure: boolean
  /** SNI and the name the certificate must carry: --servername, else the URL's host unless it is an address. */
  servername?: string
  /** ALPN protocols to offer, in order of preference. */
  alpn: string[]
}

export interface TlsOptions {
  ca?: string
  cert?: string
  key?: string
  insecure: boolean
  servername?: string
}

/** Where distributions keep the system's CA bundle (Debian/Ubuntu, Fedora/RHEL, Alpine and macOS). */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']

async function readPem(file: string, flag: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`${flag}: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: "${file}" holds no PEM block (-----BEGIN …); give a PEM file`)
  return text
}

/** The trust store when --ca is not given: Node's Mozilla bundle, the system's bundle (SSL_CERT_FILE) and NODE_EXTRA_CA_CERTS. */
async function defaultCas(): Promise<string[]> {
  const cas = [...rootCertificates]
  const system = process.env.SSL_CERT_FILE ?? SYSTEM_BUNDLES.find((file) => existsSync(file))
  if (system) cas.push(await readPem(system, 'SSL_CERT_FILE (the system CA bundle)'))
  const extra = process.env.NODE_EXTRA_CA_CERTS
  if (extra) cas.push(await readPem(extra, 'NODE_EXTRA_CA_CERTS'))
  return cas
}

/** Reads and checks every file before anything is sent: a bad --ca, --cert or --key is exit 2 naming it. */
export async function tlsPlanOf(origin: Origin, options: TlsOptions, alpn: string[]): Promise<TlsPlan> {
  if ((options.cert === undefined) !== (options.key === undefined)) throw new UsageError('--cert and --key go together (a client certificate and its private key, PEM)')
  // SNI carries names only (RFC 6066): a URL with an address sends none unless --servername gives one.
  const servername = options.servername ?? (isIP(origin.host) ? undefined : origin.host)
  const plan: TlsPlan = {
    // --insecure checks nothing, so it parses no CA store (a few hundred certificates, per thread).
    ca: options.insecure ? [] : options.ca === undefined ? await defaultCas() : [await readPem(options.ca, '--ca')],
    insecure: options.insecure,
    alpn,
    ...(servername ? {servername} : {}),
  }
  if (options.cert !== undefined) {
    plan.cert = await readPem(options.cert, '--cert')
    plan.key = await readPem(options.key!, '--key')
  }
  try {
    secureContextOf(plan)
  } catch (error) {
    throw new UsageError(`--ca/--cert/--key: ${(error as Error).message}; give PEM files (the key must match the certificate)`)
  }
  return plan
}

/** One context per thread, shared by its connections: the CA store is parsed once. */
export function secureContextOf(plan: TlsPlan): SecureContext {
  return createSecureContext({...(plan.ca.length > 0 ? {ca: plan.ca} : {}), ...(plan.cert ? {cert: plan.cert, key: plan.key} : {})})
}

/** A connection ready for requests once `ready` fires: `secureConnect` over TLS, `connect` over TCP. */
export interface Connection {
  socket: Socket
  ready: 'connect' | 'secureConnect'
}

/** What a connection received: `bytes[0, length)`, valid during the call only (connections share one buffer). */
export type OnRead = (length: number, bytes: Buffer) => void

const READ_BUFFER = 64 * 1024
let readBuffer: Buffer | undefined

/**
 * Opens a connection to the origin; over TLS with the thread's context and, on a reconnect, the last session.
 * Reads, TCP's and TLS's decrypted ones alike, land in one buffer that all the thread's connections share (Node's
 * `onread`): each read is parsed before the next lands, and a read then costs neither a Buffer nor the stream's
 * push and 'data' event.
 */
export function openConnection(origin: Origin, tls: {plan: TlsPlan; context: SecureContext} | undefined, session: Buffer | undefined, onRead: OnRead): Connection {
  const buffer = (readBuffer ??= Buffer.allocUnsafe(READ_BUFFER))
  const onread = {
    buffer,
    callback: (length: number) => {
      onRead(length, buffer)
      return true
    },
  }
  if (!tls) return {socket: connectTcp({host: origin.host, port: origin.port, onread}), ready: 'connect'}
  // tls.connect takes `onread` since Node 14.18 (its docs say so); @types/node's ConnectionOptions lacks it.
  const options: ConnectionOptions & {onread: typeof onread} = {
    host: origin.host,
    port: origin.port,
    onread,
    secureContext: tls.context,
    rejectUnauthorized: !tls.plan.insecure,
    ALPNProtocols: tls.plan.alpn,
    ...(tls.plan.servername ? {servername: tls.plan.servername} : {}),
    ...(session ? {session} : {}),
  }
  const socket: TLSSocket = connectTls(options)
  return {socket, ready: 'secureConnect'}
}

/**
 * `--http auto` over TLS: what the server picks by ALPN from h2 and http/1.1, asked once before the run. A server
 * that cannot be asked gets HTTP/1.1, and the run counts its errors as any run would.
 */
export function negotiate(origin: Origin, plan: TlsPlan, timeoutMs: number): Promise<'h2' | 'http/1.1'> {
  return new Promise((resolve) => {
    const {socket} = openConnection(origin, {plan: {...plan, alpn: ['h2', 'http/1.1']}, context: secureContextOf(plan)}, undefined, () => {})
    const done = (protocol: 'h2' | 'http/1.1') => {
      socket.destroy()
      resolve(protocol)
    }
    socket.setTimeout(timeoutMs, () => done('http/1.1'))
    socket.once('secureConnect', () => done((socket as TLSSocket).alpnProtocol === 'h2' ? 'h2' : 'http/1.1'))
    socket.once('error', () => done('http/1.1'))
  })
}
