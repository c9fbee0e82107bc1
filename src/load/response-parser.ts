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
const CR = 0x0d
const MAX_HEAD = 64 * 1024
const lower = (name: string) => Buffer.from(name.toLowerCase(), 'latin1')
const HTTP_1 = Buffer.from('HTTP/1.', 'latin1')
const CONTENT_LENGTH = lower('Content-Length:')
const TRANSFER_ENCODING = lower('Transfer-Encoding:')
const CONNECTION = lower('Connection:')
const CLOSE = lower('close')

/** Whether `data` at `at` holds `name` (lower case) in any case: `| 0x20` lowers letters and keeps '-' and ':'. */
function named(data: Buffer, at: number, size: number, name: Buffer): boolean {
  if (at + name.length > size) return false
  for (let i = 0; i < name.length; i++) if ((data[at + i]! | 0x20) !== name[i]) return false
  return true
}

/** `HTTP/1.1 200 …` -> 200, read from the bytes, any three digits from 100 to 999; 0 when it is no HTTP/1.x status line. */
function statusOf(data: Buffer, at: number, end: number): number {
  if (end < at + 12 || data[at + 8] !== 0x20) return 0
  for (let i = 0; i < 7; i++) if (data[at + i] !== HTTP_1[i]) return 0
  const a = data[at + 9]! - 48
  const b = data[at + 10]! - 48
  const c = data[at + 11]! - 48
  return a >= 1 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9 ? a * 100 + b * 10 + c : 0
}

/** The decimal number after optional blanks at `at`, ending the line; -1 for anything else (a list, a sign). */
function digitsAt(data: Buffer, at: number): number {
  while (data[at] === 0x20 || data[at] === 0x09) at++
  const first = at
  let value = 0
  for (let byte = data[at]!; byte >= 0x30 && byte <= 0x39; byte = data[++at]!) value = value * 10 + byte - 0x30
  while (data[at] === 0x20 || data[at] === 0x09) at++
  return at > first && data[at] === CR ? value : -1
}

/** Where the line from `at` ends (its LF) before `size`, or -1. */
function lineEnd(data: Buffer, at: number, size: number): number {
  for (; at < size; at++) if (data[at] === LF) return at
  return -1
}

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

  /**
   * Parses `chunk[0, length)`, the connection's next bytes. The chunk is the thread's read buffer, read into again
   * once this returns: what must wait for more bytes (a head or a chunk-size line split over reads) is copied.
   */
  execute(chunk: Buffer, length = chunk.length): void {
    let data = chunk
    let size = length
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk.subarray(0, length)])
      size = data.length
      this.pending = undefined
    }
    let at = 0
    while (at < size) {
      switch (this.state) {
        case State.head: {
          const next = this.head(data, at, size)
          if (next === -1) {
            if (size - at > MAX_HEAD) throw new ParseError(`response head longer than ${MAX_HEAD} bytes`)
            this.pending = Buffer.from(data.subarray(at, size))
            return
          }
          at = next
          break
        }
        case State.fixedBody:
          at = this.skip(size, at)
          if (this.remaining === 0) this.complete()
          break
        case State.chunkSize:
        case State.trailer: {
          const lf = lineEnd(data, at, size)
          if (lf === -1) {
            this.pending = Buffer.from(data.subarray(at, size))
            return
          }
          const line = data.toString('latin1', at, lf).trim()
          at = lf + 1
          if (this.state === State.trailer) {
            if (line === '') this.complete()
            break
          }
          const chunkSize = Number.parseInt(line, 16)
          if (Number.isNaN(chunkSize)) throw new ParseError(`bad chunk size "${line.slice(0, 20)}"`)
          if (chunkSize === 0) this.state = State.trailer
          else {
            this.remaining = chunkSize
            this.state = State.chunkData
          }
          break
        }
        case State.chunkData:
          at = this.skip(size, at)
          if (this.remaining === 0) {
            this.remaining = 2 // the CRLF after the chunk
            this.state = State.chunkDataEnd
          }
          break
        case State.chunkDataEnd:
          at = this.skip(size, at)
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

  /** Passes over up to `remaining` body bytes without keeping them; returns where reading goes on. */
  private skip(size: number, at: number): number {
    const take = Math.min(this.remaining, size - at)
    this.remaining -= take
    return at + take
  }

  /**
   * Reads a head from `start` in one pass over its bytes, finding its end (the blank line) and the framing headers
   * in any case as it goes: one JS loop costs less than a native search per header or for the end. Returns where
   * the body begins, or -1 when the head is not all here yet (nothing is settled then). Transfer-Encoding, a 1xx, or
   * a Content-Length that is not one number takes the general path through a string.
   */
  private head(data: Buffer, start: number, size: number): number {
    let length = -1
    let general = false
    let close = false
    for (let at = start; at < size; at++) {
      if (data[at] !== LF) continue
      const line = at + 1
      if (data[line] === CR && at > start && data[at - 1] === CR) {
        if (line + 1 >= size) return -1
        if (data[line + 1] === LF) {
          this.headRead(data, start, line, general, length, close)
          return line + 2
        }
      }
      if (general) continue
      const first = data[line]! | 0x20
      if (first === 0x63) {
        if (named(data, line, size, CONTENT_LENGTH)) {
          const value = digitsAt(data, line + CONTENT_LENGTH.length)
          // Given twice, or as a list: the general path agrees them or refuses them.
          if (value === -1 || (length !== -1 && value !== length)) general = true
          length = value
        } else if (named(data, line, size, CONNECTION)) {
          let from = line + CONNECTION.length
          while (data[from] === 0x20 || data[from] === 0x09) from++
          if (named(data, from, size, CLOSE)) close = true
        }
      } else if (first === 0x74 && named(data, line, size, TRANSFER_ENCODING)) general = true
    }
    return -1
  }

  /** A whole head, `data[start, end)` (`end` at its blank line), read by `head`: the response's framing settled. */
  private headRead(data: Buffer, start: number, end: number, general: boolean, length: number, close: boolean): void {
    const status = statusOf(data, start, end)
    if (status === 0) throw new ParseError(`not an HTTP/1.x status line: "${data.toString('latin1', start, Math.min(end, start + 40)).split('\r')[0]}"`)
    if (general || length === -1 || status < 200) return this.parseHead(data.toString('latin1', start, end))
    this.status = status
    // HTTP/1.0 closes after each response unless it says keep-alive; either way no request follows on it.
    this.closeAfter = close || data[start + 7] === 0x30
    if (this.bodiless || status === 204 || status === 304) return this.complete()
    this.remaining = length
    if (this.remaining === 0) return this.complete()
    this.state = State.fixedBody
  }

  private parseHead(text: string): void {
    this.status = Number(text.slice(9, 12))
    this.closeAfter = text[7] === '0' || /\r\nconnection:[ \t]*close/i.test(text)
    if (this.status < 200) return // 1xx: an interim response; the final one follows
    if (this.bodiless || this.status === 204 || this.status === 304) return this.complete()
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(text)) {
      this.state = State.chunkSize
      return
    }
    // Content-Length given twice, or as a list, must agree (RFC 9112 §6.3): else where the body ends is unknown.
    const lengths = new Set([...text.matchAll(/\r\ncontent-length:([^\r]*)/gi)].flatMap((match) => match[1]!.split(',').map((value) => value.trim())))
    if (lengths.size > 1) throw new ParseError(`conflicting Content-Length values: ${[...lengths].join(', ')}`)
    if (lengths.size === 1) {
      const [value] = lengths
      if (!/^\d+$/.test(value!)) throw new ParseError(`bad Content-Length "${value!.slice(0, 20)}"`)
      this.remaining = Number(value)
      if (this.remaining === 0) return this.complete()
      this.state = State.fixedBody
      return
    }
    this.closeAfter = true // the body ends with the connection
    this.state = State.untilClose
  }

  private complete(): void {
    this.state = State.head
    this.onResponse(this.status)
  }
}
