import type {Socket} from 'node:net'
import type {TLSSocket} from 'node:tls'

import {LoadConnection} from '../load-connection.js'
import type {LoadState} from '../load-state.js'
import type {ErrorKind} from '../recorder.js'
import {ACK, CANCEL, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, END_HEADERS, END_STREAM, FRAME_HEADER, Frame, PADDED, PRIORITY, PROTOCOL_ERROR, errorName, frame, goaway, preface, rstStream, windowUpdate, writeHeader} from './frames.js'
import {HpackDecoder, encodeRequestHeaders} from './hpack.js'

/** Received bytes after which a window is topped up again (windows start at the largest, 2^31 - 1). */
const REFILL_AT = 2 ** 30
const REFUSED_STREAM = 7
const LAST_STREAM_ID = 2 ** 31 - 1

/** A request's HEADERS frame (and, with a body, the DATA that follows), built once; the stream id is set per send. */
interface Prepared {
  headers: Buffer
  body: Buffer | undefined
}

/**
 * One worker over HTTP/2: one connection (TLS with ALPN h2, or h2c over TCP) carrying up to --streams requests at
 * once. Frames are read and written here (no node:http2: its per-stream objects cost more than the requests): request
 * header blocks are prebuilt from HPACK's static table, responses go through a complete HPACK decoder. Streams live
 * in fixed slots; a stream without an answer is reset (CANCEL) by the timeout sweep and its connection goes on.
 */
export class Http2Client extends LoadConnection {
  /** The server's SETTINGS arrived: streams may open. */
  private ready = false
  private goingAway = false
  private pending: Buffer | undefined
  /** A header block split over CONTINUATION frames. */
  private continued: {streamId: number; endStream: boolean; chunks: Buffer[]} | undefined
  private decoder = new HpackDecoder()
  private nextStreamId = 1
  private maxStreams = Number.POSITIVE_INFINITY
  private maxFrame = DEFAULT_MAX_FRAME
  private connectionWindow = DEFAULT_WINDOW
  private initialStreamWindow = DEFAULT_WINDOW
  private received = 0
  private readonly capacity: number
  private readonly prepared: Prepared[]
  // One slot per stream in flight.
  private readonly streamOf: Int32Array
  private readonly sentAt: Float64Array
  private readonly intendedAt: Float64Array
  private readonly counted: Uint8Array
  private readonly status: Uint16Array
  private readonly sendWindow: Float64Array
  /** Body bytes of the slot's request not yet sent (flow control), and where they start. */
  private readonly bodyLeft: Int32Array
  private readonly bodyOf: (Buffer | undefined)[]
  private readonly slotOf = new Map<number, number>()
  private readonly free: number[] = []
  private count = 0

  constructor(state: LoadState, done: () => void) {
    super(state, done)
    const size = (this.capacity = state.plan.http2!.streams)
    this.streamOf = new Int32Array(size)
    this.sentAt = new Float64Array(size)
    this.intendedAt = new Float64Array(size)
    this.counted = new Uint8Array(size)
    this.status = new Uint16Array(size)
    this.sendWindow = new Float64Array(size)
    this.bodyLeft = new Int32Array(size)
    this.bodyOf = new Array(size).fill(undefined)
    for (let slot = size - 1; slot >= 0; slot--) this.free.push(slot)
    const scheme = state.plan.origin.secure ? 'https' : 'http'
    this.prepared = state.plan.requests.map((request) => {
      const block = encodeRequestHeaders([[':method', request.method], [':scheme', scheme], [':path', request.path], [':authority', request.authority], ...request.headers])
      return {headers: frame(Frame.headers, END_HEADERS | (request.body?.length ? 0 : END_STREAM), 0, block), body: request.body?.length ? request.body : undefined}
    })
  }

  sweep(now: number, timeoutMs: number): void {
    if (this.connectExpired(now, timeoutMs) || this.count === 0) return
    let expired = false
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.streamOf[slot] === 0 || now - this.sentAt[slot]! <= timeoutMs) continue
      // The stream alone is given up (RST_STREAM CANCEL); the connection and its other streams go on.
      this.socket!.write(rstStream(this.streamOf[slot]!, CANCEL))
      this.settle(slot)
      this.state.error('timeout', `no response within ${timeoutMs} ms`, 1, this.counted[slot]!)
      expired = true
    }
    if (expired) this.fill()
  }

  start(): void {
    this.open({
      ready: (socket, tls) => {
        const alpn = tls && (socket as TLSSocket).alpnProtocol
        if (tls && alpn !== 'h2') return this.fail('tls', `the server did not agree to HTTP/2 by ALPN (it chose ${alpn || 'nothing'}); use --http 1.1 or --http auto`)
        this.up(socket, tls)
        const opening = preface()
        this.state.recorder.bytesSent += opening.length
        socket.write(opening)
      },
      data: (socket, bytes, length) => this.read(socket, length === bytes.length ? bytes : bytes.subarray(0, length)),
      end: (socket) => {
        if (this.socket !== socket) return
        if (this.count > 0) this.fail('reset', 'the server closed the connection with streams open')
        else this.drop()
      },
    })
  }

  /** Opens streams while there is room on the connection and the run wants more. */
  fill(): void {
    if (!this.ready || this.goingAway || this.closed) return
    const room = Math.min(this.capacity, this.maxStreams)
    if (this.count >= room || this.pacing) return
    const socket = this.socket!
    // Several streams to open (a new connection, a burst of answers): their HEADERS frames go out in one write.
    const corked = room - this.count > 1
    if (corked) socket.cork()
    while (this.count < room && !this.pacing) {
      const slot = this.state.take()
      if (slot === undefined) {
        this.state.idle()
        break
      }
      if (this.wait(slot.intendedAt, slot.counted)) break
      this.send(slot.intendedAt, slot.counted)
    }
    if (corked) process.nextTick(() => socket.uncork())
  }

  protected override established(): boolean {
    return this.ready
  }

  protected override silence(timeoutMs: number): string {
    return `no HTTP/2 SETTINGS from the server within ${timeoutMs} ms`
  }

  protected sendable(): boolean {
    return this.ready && !this.goingAway && !this.closed && this.count < Math.min(this.capacity, this.maxStreams)
  }

  protected send(intendedAt: number, counted: boolean): void {
    const index = this.state.plan.requests.length === 1 ? 0 : this.state.nextIndex()
    const {headers, body} = this.prepared[index]!
    const streamId = this.nextStreamId
    this.nextStreamId += 2
    if (this.nextStreamId > LAST_STREAM_ID) this.goingAway = true // ids spent: a new connection once this one drains
    const slot = this.free.pop()!
    const now = performance.now()
    this.streamOf[slot] = streamId
    this.slotOf.set(streamId, slot)
    this.sentAt[slot] = now
    this.intendedAt[slot] = intendedAt === 0 || intendedAt > now ? now : intendedAt
    this.counted[slot] = counted ? 1 : 0
    this.status[slot] = 0
    this.sendWindow[slot] = this.initialStreamWindow
    this.count++
    this.state.sent(counted, now - (intendedAt || now))
    const out = Buffer.allocUnsafe(headers.length)
    headers.copy(out)
    out.writeUInt32BE(streamId, 5)
    this.state.recorder.bytesSent += out.length
    this.socket!.write(out)
    if (body) {
      this.bodyOf[slot] = body
      this.bodyLeft[slot] = body.length
      this.sendBody(slot)
    }
  }

  /** Sends what the windows allow of the slot's body, in frames no larger than the server takes. */
  private sendBody(slot: number): void {
    const body = this.bodyOf[slot]!
    while (this.bodyLeft[slot]! > 0) {
      const size = Math.min(this.bodyLeft[slot]!, this.maxFrame, this.connectionWindow, this.sendWindow[slot]!)
      if (size <= 0) return // the rest goes when WINDOW_UPDATE opens the windows
      const from = body.length - this.bodyLeft[slot]!
      this.bodyLeft[slot]! -= size
      this.connectionWindow -= size
      this.sendWindow[slot]! -= size
      const out = Buffer.allocUnsafe(FRAME_HEADER + size)
      writeHeader(out, 0, size, Frame.data, this.bodyLeft[slot] === 0 ? END_STREAM : 0, this.streamOf[slot]!)
      body.copy(out, FRAME_HEADER, from, from + size)
      this.state.recorder.bytesSent += out.length
      this.socket!.write(out)
    }
    this.bodyOf[slot] = undefined
  }

  /** Splits the bytes into frames; a frame split over chunks waits for the rest. */
  private read(socket: Socket, chunk: Buffer): void {
    let data = chunk
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    if (!this.ready && this.nextStreamId === 1 && data.length >= 5 && data.toString('latin1', 0, 5) === 'HTTP/') {
      throw new Error(`not an HTTP/2 server: it answered "${data.toString('latin1', 0, data.indexOf(13)).slice(0, 40)}" (use --http 1.1)`)
    }
    let at = 0
    while (data.length - at >= FRAME_HEADER) {
      const length = (data[at]! << 16) | (data[at + 1]! << 8) | data[at + 2]!
      if (length > DEFAULT_MAX_FRAME) throw new Error(`HTTP/2 frame of ${length} bytes, over the ${DEFAULT_MAX_FRAME} allowed (FRAME_SIZE_ERROR)`)
      if (data.length - at - FRAME_HEADER < length) break
      const start = at + FRAME_HEADER
      this.frame(data[at + 3]!, data[at + 4]!, data.readUInt32BE(at + 5) & LAST_STREAM_ID, data, start, start + length)
      if (this.socket !== socket) return // the frame ended the connection
      at = start + length
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at))
  }

  private frame(type: number, flags: number, streamId: number, data: Buffer, start: number, end: number): void {
    if (this.continued && type !== Frame.continuation) throw new Error('HTTP/2: a header block was interrupted by another frame (PROTOCOL_ERROR)')
    switch (type) {
      case Frame.data: {
        this.received += end - start
        const slot = this.slotOf.get(streamId)
        if (this.received >= REFILL_AT) {
          this.socket!.write(windowUpdate(0, this.received))
          this.received = 0
        }
        if (slot !== undefined && flags & END_STREAM) this.complete(slot)
        return
      }
      case Frame.headers: {
        if (flags & PADDED) end -= data[start++]!
        if (flags & PRIORITY) start += 5
        const block = data.subarray(start, end)
        if (flags & END_HEADERS) return this.headers(streamId, block, (flags & END_STREAM) !== 0)
        this.continued = {streamId, endStream: (flags & END_STREAM) !== 0, chunks: [Buffer.from(block)]}
        return
      }
      case Frame.continuation: {
        const continued = this.continued
        if (!continued || continued.streamId !== streamId) throw new Error('HTTP/2: CONTINUATION without its HEADERS (PROTOCOL_ERROR)')
        continued.chunks.push(Buffer.from(data.subarray(start, end)))
        if (flags & END_HEADERS) {
          this.continued = undefined
          this.headers(streamId, Buffer.concat(continued.chunks), continued.endStream)
        }
        return
      }
      case Frame.rstStream:
        return this.streamReset(streamId, data.readUInt32BE(start))
      case Frame.settings:
        if (flags & ACK) return
        return this.settings(data, start, end)
      case Frame.ping:
        if (!(flags & ACK)) this.socket!.write(frame(Frame.ping, ACK, 0, data.subarray(start, end)))
        return
      case Frame.goaway:
        return this.goaway(data.readUInt32BE(start) & LAST_STREAM_ID, data.readUInt32BE(start + 4))
      case Frame.windowUpdate:
        return this.windowUpdate(streamId, data.readUInt32BE(start) & LAST_STREAM_ID)
      case Frame.pushPromise:
        this.socket!.write(goaway(0, PROTOCOL_ERROR))
        throw new Error('HTTP/2: PUSH_PROMISE though push is disabled (PROTOCOL_ERROR)')
      default: // PRIORITY, and frame types this client does not know: ignored, as RFC 9113 §4.1 asks
    }
  }

  /** Every header block is decoded, whatever its stream, to keep the HPACK table as the server's encoder has it. */
  private headers(streamId: number, block: Buffer, endStream: boolean): void {
    const status = this.decoder.decode(block)
    const slot = this.slotOf.get(streamId)
    if (slot === undefined) return // a stream this client gave up on
    if (status >= 200) this.status[slot] = status
    else if (status === 0 && this.status[slot] === 0) throw new Error(`HTTP/2: response headers without :status on stream ${streamId}`)
    // 1xx: interim; trailers (no :status) end a response whose status came first
    if (endStream) this.complete(slot)
  }

  private settings(data: Buffer, start: number, end: number): void {
    for (let at = start; at + 6 <= end; at += 6) {
      const id = data.readUInt16BE(at)
      const value = data.readUInt32BE(at + 2)
      if (id === 0x3) this.maxStreams = value
      else if (id === 0x4) {
        // A new initial window moves every open stream's window by the difference (RFC 9113 §6.9.2).
        const delta = value - this.initialStreamWindow
        this.initialStreamWindow = value
        for (let slot = 0; slot < this.capacity; slot++) if (this.streamOf[slot] !== 0) this.sendWindow[slot]! += delta
      } else if (id === 0x5) this.maxFrame = value
    }
    this.socket!.write(frame(Frame.settings, ACK, 0))
    if (!this.ready) {
      this.ready = true
      this.fill()
    } else this.flushBodies()
  }

  private windowUpdate(streamId: number, increment: number): void {
    if (streamId === 0) this.connectionWindow += increment
    else {
      const slot = this.slotOf.get(streamId)
      if (slot !== undefined) this.sendWindow[slot]! += increment
    }
    this.flushBodies()
  }

  private flushBodies(): void {
    for (let slot = 0; slot < this.capacity; slot++) if (this.streamOf[slot] !== 0 && this.bodyLeft[slot]! > 0) this.sendBody(slot)
  }

  private streamReset(streamId: number, code: number): void {
    const slot = this.slotOf.get(streamId)
    if (slot === undefined) return
    this.settle(slot)
    // REFUSED_STREAM: the server did nothing with it (RFC 9113 §8.7), so it goes again.
    if (code === REFUSED_STREAM) this.state.unsent(this.counted[slot] === 1)
    else this.state.error('reset', `RST_STREAM ${errorName(code)}`, 1, this.counted[slot]!)
    this.fill()
  }

  /**
   * GOAWAY: no new streams here. Streams above the last one the server will process were never processed: they go
   * again on the next connection; the others may still answer, and the connection is replaced once they have.
   */
  private goaway(lastStreamId: number, code: number): void {
    this.goingAway = true
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.streamOf[slot]! > lastStreamId) {
        this.settle(slot)
        this.state.unsent(this.counted[slot] === 1)
      }
    }
    if (code !== 0 && this.count > 0) return this.fail('reset', `GOAWAY ${errorName(code)}`)
    if (this.count === 0) this.drop()
  }

  private complete(slot: number): void {
    const status = this.status[slot]!
    this.settle(slot)
    this.state.response(this.counted[slot] === 1, status, this.sentAt[slot]!, this.intendedAt[slot]!)
    if (this.goingAway) {
      if (this.count === 0) this.drop()
      return
    }
    this.fill()
  }

  /** Frees the slot of a stream that is over. */
  private settle(slot: number): void {
    this.slotOf.delete(this.streamOf[slot]!)
    this.streamOf[slot] = 0
    this.bodyOf[slot] = undefined
    this.bodyLeft[slot] = 0
    this.free.push(slot)
    this.count--
  }

  fail(kind: ErrorKind, message: string): void {
    let requests = 0
    let counted = 0
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.streamOf[slot] === 0) continue
      requests++
      counted += this.counted[slot]!
      this.settle(slot)
    }
    // Failed before streams could open (refused, no handshake, not HTTP/2): one request is charged with it.
    if (requests === 0 && !this.ready) ({requests, counted} = this.chargeFailedConnection())
    this.state.error(kind, message, requests, counted)
    this.dropAfterFailure()
  }

  protected reset(): void {
    this.ready = false
    this.goingAway = false
    this.pending = undefined
    this.continued = undefined
    this.decoder = new HpackDecoder()
    this.nextStreamId = 1
    this.maxStreams = Number.POSITIVE_INFINITY
    this.maxFrame = DEFAULT_MAX_FRAME
    this.connectionWindow = DEFAULT_WINDOW
    this.initialStreamWindow = DEFAULT_WINDOW
    this.received = 0
  }
}
