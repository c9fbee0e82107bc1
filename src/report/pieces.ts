/**
 * Large reports written in pieces: a merged report of 100,000 targets is tens of MB of text, and one string of it
 * costs that again as the Buffer it is written from. Pieces are joined into writes of about CHUNK characters.
 */
const CHUNK = 1 << 20

/** Results stringified at a time inside a top-level array. */
const BATCH = 1000

/** `pieces` joined into strings of about CHUNK characters (the last shorter). */
export function* chunked(pieces: Iterable<string>): Generator<string> {
  let held: string[] = []
  let length = 0
  for (const piece of pieces) {
    held.push(piece)
    length += piece.length
    if (length >= CHUNK) {
      yield held.join('')
      held = []
      length = 0
    }
  }
  if (length > 0) yield held.join('')
}

/** `pieces`, then a final newline. */
export function* terminated(pieces: Iterable<string>): Generator<string> {
  yield* pieces
  yield '\n'
}

/** `lines.join('\n')` in blocks of about CHUNK characters, for a text of many lines (JUnit, Prometheus). */
export function* lineBlocks(lines: Iterable<string>): Generator<string> {
  let held: string[] = []
  let length = 0
  let first = true
  for (const line of lines) {
    held.push(line)
    length += line.length + 1
    if (length >= CHUNK) {
      yield `${first ? '' : '\n'}${held.join('\n')}`
      first = false
      held = []
      length = 0
    }
  }
  if (held.length > 0) yield `${first ? '' : '\n'}${held.join('\n')}`
}

/**
 * `JSON.stringify(document)`, the same text, in pieces: the top-level arrays (the results) a batch at a time, so
 * that the whole text never has to be one string.
 */
export function* jsonPieces(document: object): Generator<string> {
  yield '{'
  let first = true
  for (const [key, value] of Object.entries(document)) {
    const text = Array.isArray(value) ? undefined : (JSON.stringify(value) as string | undefined)
    // What JSON.stringify leaves out of an object: undefined, functions, symbols.
    if (!Array.isArray(value) && text === undefined) continue
    yield `${first ? '' : ','}${JSON.stringify(key)}:`
    first = false
    if (text !== undefined) {
      yield text
      continue
    }
    const items = value as unknown[]
    yield '['
    for (let start = 0; start < items.length; start += BATCH) {
      const batch = JSON.stringify(items.slice(start, start + BATCH))
      yield `${start === 0 ? '' : ','}${batch.slice(1, -1)}`
    }
    yield ']'
  }
  yield '}'
}
