import {HpackError, huffmanDecode} from './huffman.js'

/** RFC 7541 Appendix A: the static table, index 1 first. */
const STATIC: [string, string][] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'], [':scheme', 'http'],
  [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''], ['accept-encoding', 'gzip, deflate'], ['accept-language', ''],
  ['accept-ranges', ''], ['accept', ''], ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''],
  ['cache-control', ''], ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''], ['expect', ''],
  ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
  ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
]

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1), the prefix's other bits being `flags`. */
function integer(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1
  if (value < max) return [flags | value]
  const bytes = [flags | max]
  for (value -= max; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) | 128)
  bytes.push(value)
  return bytes
}

/** A string literal, not Huffman-coded: the request's block is built once, so its size hardly matters. */
function literal(text: string): number[] {
  const bytes = Buffer.from(text, 'latin1')
  return [...integer(bytes.length, 7, 0), ...bytes]
}

/**
 * A request's header block, built once: static-table indexes where the table has the field, else literals
 * "without indexing" (name by static index where it has the name), so the server's decoder table never changes
 * and the same bytes serve every request on every connection.
 */
export function encodeRequestHeaders(fields: [string, string][]): Buffer {
  const bytes: number[] = []
  for (const [name, value] of fields) {
    const exact = STATIC.findIndex(([n, v]) => n === name && v === value)
    if (exact !== -1) {
      bytes.push(...integer(exact + 1, 7, 0x80))
      continue
    }
    const named = STATIC.findIndex(([n]) => n === name)
    if (named !== -1) bytes.push(...integer(named + 1, 4, 0), ...literal(value))
    else bytes.push(0, ...literal(name), ...literal(value))
  }
  return Buffer.from(bytes)
}

const ENTRY_OVERHEAD = 32

/**
 * A complete HPACK decoder (RFC 7541): indexed fields, literals with and without indexing, never-indexed ones,
 * dynamic table size updates, the dynamic table with its evictions, Huffman strings. A load test reads only
 * :status, so strings are decoded only where they matter (the status, and what enters the dynamic table, whose
 * sizes count decoded octets); `onField` asks for every field.
 */
export class HpackDecoder {
  /** Newest first. */
  private readonly table: [string, string][] = []
  private size = 0
  private maxSize: number

  constructor(private readonly limit = 4096) {
    this.maxSize = limit
  }

  /** Decodes one complete header block; returns its :status (0 if none). */
  decode(block: Uint8Array, onField?: (name: string, value: string) => void): number {
    let status = 0
    let at = 0
    const end = block.length
    // Reads an integer with an N-bit prefix at `at`.
    const int = (prefixBits: number): number => {
      const max = (1 << prefixBits) - 1
      let value = block[at++]! & max
      if (value < max) return value
      let shift = 0
      for (;;) {
        if (at >= end) throw new HpackError('HPACK: integer past the end of the block')
        const byte = block[at++]!
        value += (byte & 127) * 2 ** shift
        shift += 7
        if ((byte & 128) === 0) return value
        if (shift > 28) throw new HpackError('HPACK: integer too large')
      }
    }
    // Reads a string literal; decoded only when `wanted`, else skipped (undefined).
    const string = (wanted: boolean): string | undefined => {
      const huffman = (block[at]! & 0x80) !== 0
      const length = int(7)
      const start = at
      at += length
      if (at > end) throw new HpackError('HPACK: string past the end of the block')
      if (!wanted) return undefined
      return huffman ? huffmanDecode(block, start, at) : Buffer.from(block.buffer, block.byteOffset + start, length).toString('latin1')
    }
    while (at < end) {
      const byte = block[at]!
      if (byte & 0x80) {
        const [name, value] = this.entry(int(7))
        if (name === ':status') status = Number(value)
        onField?.(name, value)
        continue
      }
      if ((byte & 0xe0) === 0x20) {
        this.resize(int(5))
        continue
      }
      const indexing = (byte & 0xc0) === 0x40
      const index = int(indexing ? 6 : 4)
      const name = index === 0 ? string(true)! : this.entry(index)[0]
      const value = string(indexing || name === ':status' || onField !== undefined)
      if (name === ':status') status = Number(value)
      if (value !== undefined) onField?.(name, value)
      if (indexing) this.insert(name, value!)
    }
    return status
  }

  private entry(index: number): [string, string] {
    if (index === 0) throw new HpackError('HPACK: index 0')
    if (index <= STATIC.length) return STATIC[index - 1]!
    const entry = this.table[index - STATIC.length - 1]
    if (!entry) throw new HpackError(`HPACK: index ${index} past the dynamic table`)
    return entry
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD // latin1: one octet per character
    this.table.unshift([name, value])
    this.size += size
    this.evict()
  }

  private resize(size: number): void {
    if (size > this.limit) throw new HpackError(`HPACK: table size ${size} over the ${this.limit} allowed`)
    this.maxSize = size
    this.evict()
  }

  private evict(): void {
    while (this.size > this.maxSize && this.table.length > 0) {
      const [name, value] = this.table.pop()!
      this.size -= name.length + value.length + ENTRY_OVERHEAD
    }
  }
}
