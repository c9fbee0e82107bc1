import {loadModule, parseSync, scanSync} from 'libpg-query'

import {lineAt} from '../cli/line-at.js'

/** One top-level statement of a migration file, located in the file's text (character offsets). */
export interface Statement {
  /** Where its first token starts. */
  start: number
  /** Where it ends, before its `;`. */
  end: number
  /** 1-based line of its first token. */
  line: number
  /** The server's parse tree of it: `{IndexStmt: {…}}`. */
  tree: Record<string, unknown>
  /** For `COPY … FROM stdin`: the data lines after it, up to (not including) the `\.` line. */
  copyData?: {start: number; end: number}
}

/** A file PostgreSQL's parser refuses, at `offset` (a character of the text). */
export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

/** The WebAssembly parser, loaded once: ~0.1 s, so only by commands that read migration files. */
export const loadParser = (): Promise<void> => loadModule()

// A line that may end a `COPY … FROM stdin` statement: only a cut point to try, the parser decides.
const COPY_CANDIDATE = /stdin[^\n]*;[ \t]*$/gim

/**
 * The statements of `text`, split by PostgreSQL's own parser (libpg-query: dollar quotes, E'' strings, comments and
 * semicolons inside them are the server's business, not a regex's). `COPY … FROM stdin` data, which is not SQL,
 * is cut out first: a candidate line is confirmed by parsing the text up to it and finding a COPY FROM stdin last.
 */
export function splitSql(text: string): Statement[] {
  const statements: Statement[] = []
  let from = 0
  for (;;) {
    const copy = nextCopy(text, from)
    if (!copy) {
      statements.push(...parseSegment(text, from, text.length))
      return statements
    }
    statements.push(...copy.statements)
    const dataStart = copy.end + 1
    const found = /^\\\.[ \t]*$/m.exec(text.slice(dataStart))
    if (!found) throw new SqlSyntaxError('COPY … FROM stdin has no "\\." line to end its data', copy.statements.at(-1)!.start)
    statements.at(-1)!.copyData = {start: dataStart, end: dataStart + found.index}
    from = dataStart + found.index + found[0].length
  }
}

/** The first COPY FROM stdin at or after `from`: the statements up to it and the offset of its line's end. */
function nextCopy(text: string, from: number): {statements: Statement[]; end: number} | undefined {
  COPY_CANDIDATE.lastIndex = from
  for (let match = COPY_CANDIDATE.exec(text); match; match = COPY_CANDIDATE.exec(text)) {
    const end = match.index + match[0].length
    let statements: Statement[]
    try {
      statements = parseSegment(text, from, end)
    } catch {
      continue // the candidate is inside a string or comment, or the text before it is wrong: found when parsed whole
    }
    const last = statements.at(-1)?.tree.CopyStmt as {is_from?: boolean; filename?: string} | undefined
    if (last?.is_from && last.filename === undefined) return {statements, end}
  }
  return undefined
}

function parseSegment(text: string, from: number, to: number): Statement[] {
  const segment = text.slice(from, to)
  let result
  try {
    result = parseSync(segment)
  } catch (error) {
    const details = (error as {sqlDetails?: {cursorPosition?: number}}).sqlDetails
    throw new SqlSyntaxError((error as Error).message, from + Math.max(0, details?.cursorPosition ?? 0))
  }
  const charAt = byteToChar(segment)
  const statements: Statement[] = []
  for (const {stmt, stmt_location: location = 0, stmt_len: length} of result.stmts ?? []) {
    const start = from + charAt(location)
    const end = length ? from + charAt(location + length) : to
    statements.push({start, end: trimEnd(text, start, end), line: lineAt(text, start), tree: stmt as Record<string, unknown>})
  }
  return statements
}

/** The parser counts UTF-8 bytes; the text is UTF-16. Identity for ASCII, the common case. */
export function byteToChar(text: string): (byte: number) => number {
  if (!/[^\x00-\x7f]/.test(text)) return (byte) => byte
  const chars = new Uint32Array(Buffer.byteLength(text) + 1)
  let byte = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4
    for (let b = 0; b < size; b++) chars[byte + b] = i
    byte += size
    if (code >= 0x10000) i++
  }
  chars[byte] = text.length
  return (at) => chars[Math.min(at, byte)]!
}

function trimEnd(text: string, start: number, end: number): number {
  while (end > start && /\s/.test(text[end - 1]!)) end--
  return end
}

/** The statements of `text` as character ranges, or undefined when the parser refuses it. */
export function statementRanges(text: string): {start: number; end: number}[] | undefined {
  try {
    return splitSql(text).map(({start, end}) => ({start, end}))
  } catch {
    return undefined
  }
}

/**
 * Where the `index`-th statement of `text` starts (0-based character offset), or undefined. PostgreSQL does not say
 * which statement of a multi-statement query failed, but its CommandComplete messages count those that ran: the
 * next one is the one that failed.
 */
export function statementStart(text: string, index: number): number | undefined {
  return statementRanges(text)?.[index]?.start
}

/**
 * `COPY t FROM stdin` as `COPY t FROM '/dev/blob'`: PGlite, in-process, has no COPY sub-protocol and reads the data
 * of a COPY FROM from a Blob given with the query instead (its documented way). The word is found by the scanner.
 */
export function copyFromBlob(sql: string): string {
  const charAt = byteToChar(sql)
  const {tokens} = scanSync(sql)
  const stdin = tokens.find((token, i) => token.text.toLowerCase() === 'stdin' && tokens[i - 1]?.text.toLowerCase() === 'from')
  if (!stdin) return sql
  return `${sql.slice(0, charAt(stdin.start))}'/dev/blob'${sql.slice(charAt(stdin.end))}`
}
