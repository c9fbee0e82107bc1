/** Thrown for bytes that are not an HTTP/1.1 response: the connection is dropped and the error counted as `parse`. */
export class ParseError extends Error {
  readonly code = 'parse'
}

const enum State {
  head,
  fixedBody,
  chunkSize,
  chunkData,
  chunkDataEnd,
  trailer,
  untilClose,
}

const LF = 0x0a // lines are found by their LF; the CR before it is trimmed
const HEAD_END = Buffer.from('\r\n\r\n')
const MAX_HEAD = 64 * 1024

/**
 * A small incremental HTTP/1.1 response parser for keep-alive load: it reads the status and the framing headers
 * (Content-Length, Transfer-Encoding: chunked, Connection: close) and skips bodies without keeping them. Several
 * responses in one chunk (pipelining) and a response split over chunks both work; only a head split over chunks
 * is copied.
 */
export class ResponseParser {
  private state = State.head
  private pending: Buffer | undefined
  private remaining = 0
  private status = 0
  /** Set when the response asked to close the connection after it. */
  closeAfter = false

  constructor(
    /** Called once per complete response. */
    private readonly onResponse: (status: number) => void,
  ) {}

  /** Whether the next response to parse has no body whatever its headers say (a response to HEAD). */
  bodiless = false

  execute(chunk: Buffer): void {
    let data = chunk
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    let at = 0
    while (at < data.length) {
      switch (this.state) {
        case State.head: {
          const end = data.indexOf(HEAD_END, at)
          if (end === -1) {
            if (data.length - at > MAX_HEAD) throw new ParseError(`response head longer than ${MAX_HEAD} bytes`)
            this.pending = data.subarray(at)
            return
          }
          this.head(data.toString('latin1', at, end))
          at = end + 4
          break
        }
        case State.fixedBody:
          at = this.skip(data, at)
          if (this.remaining === 0) this.complete()
          break
        case State.chunkSize:
        case State.trailer: {
          const lf = data.indexOf(LF, at)
          if (lf === -1) {
            this.pending = data.subarray(at)
            return
          }
          const line = data.toString('latin1', at, lf).trim()
          at = lf + 1
          if (this.state === State.trailer) {
            if (line === '') this.complete()
            break
          }
          const size = Number.parseInt(line, 16)
          if (Number.isNaN(size)) throw new ParseError(`bad chunk size "${line.slice(0, 20)}"`)
          if (size === 0) this.state = State.trailer
          else {
            this.remaining = size
            this.state = State.chunkData
          }
          break
        }
        case State.chunkData:
          at = this.skip(data, at)
          if (this.remaining === 0) {
            this.remaining = 2 // the CRLF after the chunk
            this.state = State.chunkDataEnd
          }
          break
        case State.chunkDataEnd:
          at = this.skip(data, at)
          if (this.remaining === 0) this.state = State.chunkSize
          break
        case State.untilClose:
          return
      }
    }
  }

  /** The connection ended: a response framed by the close is complete; anything else half-read is an error. */
  end(): void {
    if (this.state === State.untilClose) this.complete()
  }

  /** Whether a response has begun but not ended. */
  get partial(): boolean {
    return this.state !== State.head || this.pending !== undefined
  }

  /** Passes over up to `remaining` body bytes without keeping them; returns where reading goes on. */
  private skip(data: Buffer, at: number): number {
    const take = Math.min(this.remaining, data.length - at)
    this.remaining -= take
    return at + take
  }

  private head(text: string): void {
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(text)
    if (!match) throw new ParseError(`not an HTTP/1.x status line: "${text.slice(0, 40).split('\r')[0]}"`)
    this.status = Number(match[1])
    this.closeAfter = /\r\nconnection:[ \t]*close/i.test(text)
    if (this.status < 200) return // 1xx: an interim response; the final one follows
    if (this.bodiless || this.status === 204 || this.status === 304) return this.complete()
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(text)) {
      this.state = State.chunkSize
      return
    }
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(text)
    if (length) {
      this.remaining = Number(length[1])
      if (this.remaining === 0) return this.complete()
      this.state = State.fixedBody
      return
    }
    this.state = State.untilClose
  }

  private complete(): void {
    this.state = State.head
    this.onResponse(this.status)
  }
}
