import type {Socket} from 'node:net'
import type {TLSSocket} from 'node:tls'

import type {LoadState} from './load-state.js'
import {connectionErrorOf} from './recorder.js'
import type {ErrorKind} from './recorder.js'
import {openConnection} from './tls.js'

const RECONNECT_DELAY_MS = 10

/** What a protocol does with its connection's events; `this.socket === socket` tells whether it is still the current one. */
export interface ConnectionEvents {
  ready(socket: Socket, tls: boolean): void
  /** `bytes[0, length)` arrived; the bytes are valid during the call only: what is kept must be copied. */
  data(socket: Socket, bytes: Buffer, length: number): void
  end(socket: Socket): void
}

/**
 * One worker's connection, whatever the protocol on it: opening it (TCP or TLS, the last TLS session offered again),
 * the handshake's time, bytes received, errors as kinds, the connect timeout, pacing under --rate on one timer, and
 * the reconnect after a failure. HTTP/1.1 and HTTP/2 add their framing.
 */
export abstract class LoadConnection {
  protected socket: Socket | undefined
  protected connected = false
  protected closed = false
  /** When the connection being opened was asked for, and when its TCP connection completed (TLS: the handshake's start). */
  private openedAt = 0
  private tcpAt = 0
  /** The last TLS session the server gave: offered on the next connection, to resume it. */
  private session: Buffer | undefined
  private waiting: NodeJS.Timeout | undefined
  private waitingCounted = false

  constructor(
    protected readonly state: LoadState,
    private readonly done: () => void,
  ) {}

  abstract start(): void
  /** Sends while there is room and the run wants more. */
  abstract fill(): void
  /** The connection failed: what is in flight on it are errors of `kind`; a new connection follows. */
  abstract fail(kind: ErrorKind, message: string): void
  /** For the timeout sweep, about every 250 ms. */
  abstract sweep(now: number, timeoutMs: number): void
  /** `now`: the clock when the caller read it already. */
  protected abstract send(intendedAt: number, counted: boolean, now?: number): void
  /** Whether a send may go out now (a paced one whose timer fired). */
  protected abstract sendable(): boolean
  /** Forgets the protocol's per-connection state before the next connection. */
  protected abstract reset(): void

  protected open(events: ConnectionEvents): Socket {
    const recorder = this.state.recorder
    const {socket, ready} = openConnection(this.state.plan.origin, this.state.tls, this.session, (length, bytes) => {
      recorder.bytesReceived += length
      try {
        events.data(socket, bytes, length)
      } catch (error) {
        if (this.socket === socket) this.fail('parse', (error as Error).message)
      }
    })
    const tls = ready === 'secureConnect'
    socket.setNoDelay(true)
    this.socket = socket
    this.openedAt = performance.now()
    socket.on('connect', () => (this.tcpAt = performance.now()))
    socket.on(ready, () => events.ready(socket, tls))
    if (tls) socket.on('session', (session: Buffer) => (this.session = session))
    socket.on('error', (error) => {
      const {kind, message} = connectionErrorOf(error, tls && !this.connected)
      this.fail(kind, message)
    })
    socket.on('end', () => events.end(socket))
    return socket
  }

  /** The connection is up: its TLS handshake time (from TCP connected to secure) and resumption are recorded. */
  protected up(socket: Socket, tls: boolean): void {
    this.connected = true
    this.state.recorder.connected(tls ? Math.round((performance.now() - this.tcpAt) * 1000) : -1, tls && (socket as TLSSocket).isSessionReused())
  }

  /** A connection not yet up after the timeout (a listener that never accepts, a handshake that never ends) fails as `connect`. */
  protected connectExpired(now: number, timeoutMs: number): boolean {
    if (!this.socket || this.established() || now - this.openedAt <= timeoutMs) return false
    this.fail('connect', this.connected ? this.silence(timeoutMs) : `no connection within ${timeoutMs} ms`)
    return true
  }

  /** Whether requests may go out: the connection is up (HTTP/2 waits for the server's SETTINGS as well). */
  protected established(): boolean {
    return this.connected
  }

  /** What to say of a connection that came up and never became ready. */
  protected silence(timeoutMs: number): string {
    return `no connection within ${timeoutMs} ms`
  }

  /** Whether a paced send is waiting for its time. */
  protected get pacing(): boolean {
    return this.waiting !== undefined
  }

  /** Under --rate, a send whose time has not come waits on the one timer; true when it does. */
  protected wait(intendedAt: number, counted: boolean): boolean {
    const now = intendedAt === 0 ? 0 : performance.now()
    if (intendedAt <= now + 0.5) return false
    this.waitingCounted = counted
    this.waiting = setTimeout(() => {
      this.waiting = undefined
      if (!this.sendable()) return this.state.release(counted)
      this.send(intendedAt, counted)
      this.fill()
    }, intendedAt - now)
    return true
  }

  /** Failed before anything went out on it (refused, no handshake): the request it was for counts as sent and failed. */
  protected chargeFailedConnection(): {requests: number; counted: number} {
    const slot = this.closed ? undefined : this.state.take()
    if (!slot) return {requests: 0, counted: 0}
    this.state.sent(slot.counted, 0)
    return {requests: 1, counted: slot.counted ? 1 : 0}
  }

  /** Drops the connection (what was in flight on it already settled) and, unless the run is over, opens another. */
  protected drop(delayMs = 0): void {
    this.discard()
    this.reset()
    if (this.closed) return
    if (!this.state.wantsMore()) return this.close()
    if (delayMs > 0) setTimeout(() => this.closed || this.start(), delayMs).unref()
    else this.start()
  }

  /** Drops the connection after a failure, a moment later: a refusing server is not hammered in a tight loop. */
  protected dropAfterFailure(): void {
    this.drop(RECONNECT_DELAY_MS)
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
    this.discard()
    this.done()
  }

  private discard(): void {
    this.socket?.removeAllListeners()
    this.socket?.on('error', () => {})
    this.socket?.destroy()
    this.socket = undefined
    this.connected = false
  }
}
