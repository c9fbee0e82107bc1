import type {Socket} from 'node:net'

import {LoadConnection} from './load-connection.js'
import type {LoadState} from './load-state.js'
import type {ErrorKind} from './recorder.js'
import {ResponseParser} from './response-parser.js'

/**
 * One HTTP/1.1 worker: one keep-alive connection sending requests back to back (up to --pipelining at once), paced by
 * the run's schedule under --rate. Callback-driven so that a request costs no promise, timer or closure: the bytes
 * are prebuilt, and in-flight requests sit in fixed rings.
 */
export class Client extends LoadConnection {
  private parser: ResponseParser | undefined
  private readonly sentAt: Float64Array
  private readonly intendedAt: Float64Array
  private readonly counted: Uint8Array
  private readonly bodiless: Uint8Array
  private head = 0
  private count = 0

  constructor(state: LoadState, done: () => void) {
    super(state, done)
    const size = state.plan.pipelining
    this.sentAt = new Float64Array(size)
    this.intendedAt = new Float64Array(size)
    this.counted = new Uint8Array(size)
    this.bodiless = new Uint8Array(size)
  }

  /** A connection not yet up is a `connect` error; the oldest request in flight without an answer a `timeout`. */
  sweep(now: number, timeoutMs: number): void {
    if (this.connectExpired(now, timeoutMs)) return
    if (this.count > 0 && now - this.sentAt[this.head]! > timeoutMs) this.fail('timeout', `no response within ${timeoutMs} ms`)
  }

  start(): void {
    const parser = new ResponseParser((status) => this.onResponse(status))
    this.parser = parser
    this.open({
      ready: (socket, tls) => {
        this.up(socket, tls)
        this.fill()
      },
      data: (_socket, bytes, length) => parser.execute(bytes, length),
      end: (socket: Socket) => {
        parser.end()
        if (this.socket !== socket) return // the response the close ended moved on to a new connection already
        if (this.count > 0) this.fail('reset', 'the server closed the connection with requests in flight')
        else this.drop()
      },
    })
  }

  /** `now`: the clock as the caller last read it (an answer's arrival), so that the next send reads it no more. */
  fill(now = performance.now()): void {
    while (this.connected && this.count < this.state.plan.pipelining && !this.pacing && !this.closed) {
      const slot = this.state.take(now)
      if (slot === undefined) return this.state.idle()
      if (this.wait(slot.intendedAt, slot.counted)) return
      this.send(slot.intendedAt, slot.counted, now)
    }
  }

  protected sendable(): boolean {
    return this.connected && !this.closed
  }

  protected send(intendedAt: number, counted: boolean, now = performance.now()): void {
    if (!this.sendable()) return this.state.release(counted)
    const request = this.state.nextRequest()
    const at = (this.head + this.count) % this.sentAt.length
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
    // One clock read for an answer and the send it makes room for: the latency's end and the next request's start.
    const now = performance.now()
    this.state.response(this.counted[at] === 1, status, this.sentAt[at]!, this.intendedAt[at]!, now)
    if (this.parser!.closeAfter) {
      // HTTP/1.0 or `Connection: close`: nothing more goes out on this connection; the next request gets a new one.
      if (this.count === 0) this.drop()
      return
    }
    this.fill(now)
  }

  fail(kind: ErrorKind, message: string): void {
    let requests = this.count
    let counted = 0
    for (let i = 0; i < this.count; i++) counted += this.counted[(this.head + i) % this.counted.length]!
    if (this.count === 0 && !this.connected) ({requests, counted} = this.chargeFailedConnection())
    this.count = 0
    this.state.error(kind, message, requests, counted)
    this.dropAfterFailure()
  }

  protected reset(): void {
    this.count = 0
    this.head = 0
  }
}
