import type {Socket} from 'node:net'
import type {TLSSocket} from 'node:tls'

import {connectionErrorOf} from './recorder.js'
import type {ErrorKind} from './recorder.js'
import type {LoadState} from './load-state.js'
import {ResponseParser} from './response-parser.js'
import {openConnection} from './tls.js'

const RECONNECT_DELAY_MS = 10

/**
 * One worker: one keep-alive connection sending requests back to back (up to --pipelining at once), paced by the
 * run's schedule under --rate. Callback-driven so that a request costs no promise, timer or closure: the bytes are
 * prebuilt, and in-flight requests sit in fixed rings.
 */
export class Client {
  private socket: Socket | undefined
  private parser: ResponseParser | undefined
  private readonly sentAt: Float64Array
  private readonly intendedAt: Float64Array
  private readonly counted: Uint8Array
  private readonly bodiless: Uint8Array
  private head = 0
  private count = 0
  private connected = false
  /** When the connection being opened was asked for, and when its TCP connection completed (TLS: the handshake's start). */
  private openedAt = 0
  private tcpAt = 0
  /** The last TLS session the server gave: offered on the next connection, to resume it. */
  private session: Buffer | undefined
  private waiting: NodeJS.Timeout | undefined
  private waitingCounted = false
  private closed = false

  constructor(
    private readonly state: LoadState,
    private readonly done: () => void,
  ) {
    const size = state.plan.pipelining
    this.sentAt = new Float64Array(size)
    this.intendedAt = new Float64Array(size)
    this.counted = new Uint8Array(size)
    this.bodiless = new Uint8Array(size)
  }

  /**
   * For the timeout sweep: a connection not yet up (a listener that never accepts, a handshake that never ends) is a
   * `connect` error; the oldest request in flight without an answer is a `timeout`.
   */
  sweep(now: number, timeoutMs: number): void {
    if (this.socket && !this.connected && now - this.openedAt > timeoutMs) this.fail('connect', `no connection within ${timeoutMs} ms`)
    else if (this.count > 0 && now - this.sentAt[this.head]! > timeoutMs) this.fail('timeout', `no response within ${timeoutMs} ms`)
  }

  start(): void {
    const {origin} = this.state.plan
    const parser = new ResponseParser((status) => this.onResponse(status))
    const {socket, ready} = openConnection(origin, this.state.tls, this.session)
    socket.setNoDelay(true)
    this.socket = socket
    this.parser = parser
    this.openedAt = performance.now()
    const recorder = this.state.recorder
    socket.on('connect', () => (this.tcpAt = performance.now()))
    socket.on(ready, () => {
      this.connected = true
      const tls = ready === 'secureConnect'
      recorder.connected(tls ? Math.round((performance.now() - this.tcpAt) * 1000) : -1, tls && (socket as TLSSocket).isSessionReused())
      this.fill()
    })
    if (ready === 'secureConnect') socket.on('session', (session: Buffer) => (this.session = session))
    socket.on('data', (chunk: Buffer) => {
      recorder.bytesReceived += chunk.length
      try {
        parser.execute(chunk)
      } catch (error) {
        if (this.socket === socket) this.fail('parse', (error as Error).message)
      }
    })
    socket.on('error', (error) => {
      const {kind, message} = connectionErrorOf(error, ready === 'secureConnect' && !this.connected)
      this.fail(kind, message)
    })
    socket.on('end', () => {
      parser.end()
      if (this.socket !== socket) return // the response the close ended moved on to a new connection already
      if (this.count > 0) this.fail('reset', 'the server closed the connection with requests in flight')
      else this.drop()
    })
  }

  /** Sends while there is room in the pipeline and the run wants more. */
  fill(): void {
    while (this.connected && this.count < this.state.plan.pipelining && this.waiting === undefined && !this.closed) {
      const slot = this.state.take()
      if (slot === undefined) return this.state.idle()
      const {intendedAt, counted} = slot
      const now = intendedAt === 0 ? 0 : performance.now()
      if (intendedAt > now + 0.5) {
        this.waitingCounted = counted
        this.waiting = setTimeout(() => {
          this.waiting = undefined
          this.send(intendedAt, counted)
          this.fill()
        }, intendedAt - now)
        return
      }
      this.send(intendedAt, counted)
    }
  }

  private send(intendedAt: number, counted: boolean): void {
    if (this.closed || !this.connected) return this.state.release(counted)
    const request = this.state.nextRequest()
    const at = (this.head + this.count) % this.sentAt.length
    const now = performance.now()
    this.sentAt[at] = now
    // A timer may fire a little early (Node's loop clock is cached): never measure from a time before the send.
    this.intendedAt[at] = intendedAt === 0 || intendedAt > now ? now : intendedAt
    this.counted[at] = counted ? 1 : 0
    this.bodiless[at] = request.bodiless ? 1 : 0
    if (this.count === 0) this.parser!.bodiless = request.bodiless
    this.count++
    this.state.sent(counted, now - (intendedAt || now))
    this.state.recorder.bytesSent += request.bytes.length
    this.socket!.write(request.bytes)
  }

  private onResponse(status: number): void {
    const at = this.head
    this.head = (this.head + 1) % this.sentAt.length
    this.count--
    if (this.count > 0) this.parser!.bodiless = this.bodiless[this.head] === 1
    this.state.response(this.counted[at] === 1, status, this.sentAt[at]!, this.intendedAt[at]!)
    if (this.parser!.closeAfter) {
      // HTTP/1.0 or `Connection: close`: nothing more goes out on this connection; the next request gets a new one.
      if (this.count === 0) this.drop()
      return
    }
    this.fill()
  }

  /** The connection failed: its requests in flight are errors of `kind`; a new connection follows. */
  fail(kind: ErrorKind, message: string): void {
    let requests = this.count
    let counted = 0
    for (let i = 0; i < this.count; i++) counted += this.counted[(this.head + i) % this.counted.length]!
    if (this.count === 0 && !this.connected && !this.closed) {
      // Refused or failed before anything went out: the request it was for counts as sent and failed.
      const slot = this.state.take()
      if (slot) {
        this.state.sent(slot.counted, 0)
        requests++
        counted += slot.counted ? 1 : 0
      }
    }
    this.count = 0
    this.state.error(kind, message, requests, counted)
    this.drop(RECONNECT_DELAY_MS)
  }

  /** Drops the connection (its in-flight requests already settled) and, unless the run is over, opens another. */
  private drop(delayMs = 0): void {
    this.socket?.removeAllListeners()
    this.socket?.on('error', () => {})
    this.socket?.destroy()
    this.socket = undefined
    this.connected = false
    this.count = 0
    this.head = 0
    if (this.closed) return
    if (!this.state.wantsMore()) return this.close()
    if (delayMs > 0) setTimeout(() => this.closed || this.start(), delayMs).unref()
    else this.start()
  }

  /** Ends this worker: what is still in flight stays counted as in flight. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.waiting) {
      clearTimeout(this.waiting)
      this.waiting = undefined
      this.state.release(this.waitingCounted)
    }
    this.socket?.removeAllListeners()
    this.socket?.on('error', () => {})
    this.socket?.destroy()
    this.done()
  }
}
