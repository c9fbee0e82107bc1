/**
 * HPACK's Huffman code (RFC 7541 Appendix B) is canonical: codes of one length are consecutive, in symbol order, and
 * each length starts where the shorter ones end. So the 257 code lengths (symbols 0–255 and EOS) say it all; one
 * letter each here, 'a' being 5 bits.
 */
const LENGTHS = 'isxxxxxxxtzxxzxxxxxxxxzxxxxxxxxxbffhibdgffdgdbbbaaabbbbbbbcdkbhfibccccccccccccccccccccccdcdioijbkabababbbaccbbbabcbaabccccckgjixprpprrrsrssssststtrstssssqrsrsstrqprrssqsrrtqrssqqrqsrssprrrsrrsvvporsruvvvwwvtuoqvwwvwtqqvvxwwwptpqrqqsrruuttvsvwvvwwwwwxwwwwwvz'

const EOS = 256
const MAX_BITS = 30

/** Canonical decoding tables: for each length, its first code, how many codes it has, and where its symbols start. */
const firstCode = new Int32Array(MAX_BITS + 2)
const countOf = new Int32Array(MAX_BITS + 2)
const startOf = new Int32Array(MAX_BITS + 2)
const symbols = new Uint16Array(257)
{
  const lengths = Array.from(LENGTHS, (letter) => letter.charCodeAt(0) - 97 + 5)
  const order = lengths.map((_, symbol) => symbol).sort((a, b) => lengths[a]! - lengths[b]! || a - b)
  order.forEach((symbol, i) => (symbols[i] = symbol))
  for (const length of lengths) countOf[length]!++
  let code = 0
  let index = 0
  for (let length = 1; length <= MAX_BITS; length++) {
    firstCode[length] = code
    startOf[length] = index
    index += countOf[length]!
    code = (code + countOf[length]!) << 1
  }
}

/** Thrown for bytes that are not valid HPACK: a connection error (COMPRESSION_ERROR). */
export class HpackError extends Error {
  readonly code = 'parse'
}

/** Decodes the Huffman-coded string in `data[start, end)` as latin1 text. */
export function huffmanDecode(data: Uint8Array, start: number, end: number): string {
  let text = ''
  let code = 0
  let length = 0
  for (let at = start; at < end; at++) {
    const byte = data[at]!
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1)
      length++
      const offset = code - firstCode[length]!
      if (offset < countOf[length]!) {
        const symbol = symbols[startOf[length]! + offset]!
        if (symbol === EOS) throw new HpackError('HPACK: EOS inside a Huffman string')
        text += String.fromCharCode(symbol)
        code = 0
        length = 0
      } else if (length === MAX_BITS) throw new HpackError('HPACK: bad Huffman code')
    }
  }
  // The padding: fewer than 8 bits, all ones (the start of EOS).
  if (length > 7 || code !== (1 << length) - 1) throw new HpackError('HPACK: bad Huffman padding')
  return text
}
