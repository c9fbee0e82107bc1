import {scanSync} from 'libpg-query'

import {UsageError} from '../cli/errors.js'
import {quoteIdent} from './sql.js'
import {lineAt} from '../cli/line-at.js'
import {byteToChar} from './sql-split.js'
import type {Statement} from './sql-split.js'

/**
 * How a placeholder's value goes into the SQL, by where it stands: inside a string literal it is escaped as part of
 * the literal; as (part of) an identifier the whole identifier is quoted when it needs to be; in a dollar-quoted
 * body it follows the rules of the SQL inside that body. No value can end the string, identifier or body it is in.
 */
type SlotKind = 'literal' | 'escape-literal' | 'quoted-identifier' | 'identifier' | 'dollar-text' | 'copy'

interface Slot {
  /** The range of the file's text the slot replaces: the placeholder, or for an identifier the whole word. */
  start: number
  end: number
  kind: SlotKind
  parts: (string | {key: string})[]
  /** Dollar-quote tags the slot stands inside, which its value must not contain. */
  forbid: string[]
  line: number
}

/** A migration's text with the placeholders it holds, each classified once when the file is read. */
export interface SqlTemplate {
  file: string
  text: string
  slots: Slot[]
}

const PLACEHOLDER = /\$\{([^}\n]*)\}/g

/** `${namespace}`, a schema's name, and Flyway's built-ins with what they stand for. */
export const BUILT_IN = ['namespace', 'flyway:defaultSchema', 'flyway:user', 'flyway:database', 'flyway:timestamp', 'flyway:filename']

interface Found {
  start: number
  end: number
  key: string
}

/**
 * The text with every `${…}` overwritten by as many identifier characters, so that PostgreSQL's parser reads it
 * (and the offsets of everything else stay): where a placeholder stands is then whatever token holds its marker.
 */
export function markPlaceholders(text: string): {marked: string; found: Found[]} {
  const found: Found[] = []
  const marked = text.replace(PLACEHOLDER, (match, key: string, start: number) => {
    found.push({start, end: start + match.length, key})
    return `_${'z'.repeat(match.length - 1)}`
  })
  return {marked, found}
}

interface Token {
  start: number
  end: number
  name: string
  text: string
}

/**
 * Classifies each placeholder of a file split into `statements` (of the marked text). A placeholder in a comment
 * is left as written; one no value is given for (`known`), or one standing where no value could be safe (inside
 * a number, an operator, a bit string), is a UsageError naming file:line.
 */
export function templateOf(file: string, text: string, marked: string, statements: Statement[], found: Found[], known: ReadonlySet<string>): SqlTemplate {
  const slots = new Map<number, Slot>()
  const scans = new Map<string, Token[] | undefined>()
  const scanned = (start: number, end: number): Token[] | undefined => {
    const key = `${start}:${end}`
    if (!scans.has(key)) scans.set(key, scan(marked, start, end))
    return scans.get(key)
  }
  let index = 0
  for (const placeholder of found) {
    while (index < statements.length && statementEnd(statements[index]!) <= placeholder.start) index++
    const statement = statements[index]
    const line = lineAt(text, placeholder.start)
    const where = `${file}:${line}`
    let slot: Omit<Slot, 'parts' | 'line'> | undefined
    if (statement?.copyData && placeholder.start >= statement.copyData.start) {
      slot = {start: placeholder.start, end: placeholder.end, kind: 'copy', forbid: []}
    } else if (statement && placeholder.start >= statement.start) {
      const tokens = scanned(statement.start, statement.end)
      if (!tokens) throw new UsageError(`${where}: PostgreSQL's scanner cannot read the statement this placeholder is in; check the SQL around it`)
      slot = classify(marked, placeholder, tokens, [], scanned, where)
    }
    if (!slot) continue // in a comment
    if (!known.has(placeholder.key)) {
      throw new UsageError(`${where}: unknown placeholder \${${placeholder.key}}; give it with --placeholder ${placeholder.key}=VALUE or under placeholders: in fanout.yaml (built in: ${BUILT_IN.map((name) => `\${${name}}`).join(', ')})`)
    }
    const existing = slots.get(slot.start)
    if (existing) existing.parts.push({key: placeholder.key})
    else slots.set(slot.start, {...slot, parts: [{key: placeholder.key}], line})
  }
  for (const slot of slots.values()) if (slot.kind === 'identifier') slot.parts = identifierParts(text, slot, found)
  return {file, text, slots: [...slots.values()].sort((a, b) => a.start - b.start)}
}

function statementEnd(statement: Statement): number {
  return statement.copyData?.end ?? statement.end
}

/** The word's text around its placeholders, in order: `idx_${namespace}_a` -> ['idx_', {key}, '_a']. */
function identifierParts(text: string, slot: Slot, found: Found[]): Slot['parts'] {
  const parts: Slot['parts'] = []
  let at = slot.start
  for (const placeholder of found) {
    if (placeholder.start < slot.start || placeholder.start >= slot.end) continue
    if (placeholder.start > at) parts.push(text.slice(at, placeholder.start))
    parts.push({key: placeholder.key})
    at = placeholder.end
  }
  if (at < slot.end) parts.push(text.slice(at, slot.end))
  return parts
}

function scan(marked: string, start: number, end: number): Token[] | undefined {
  const text = marked.slice(start, end)
  let tokens
  try {
    tokens = scanSync(text).tokens
  } catch {
    return undefined
  }
  const charAt = byteToChar(text)
  return tokens.map((token) => ({start: start + charAt(token.start), end: start + charAt(token.end), name: token.tokenName, text: token.text}))
}

function classify(
  marked: string,
  placeholder: Found,
  tokens: Token[],
  forbid: string[],
  scanned: (start: number, end: number) => Token[] | undefined,
  where: string,
): Omit<Slot, 'parts' | 'line'> | undefined {
  const token = tokens.find((candidate) => candidate.start <= placeholder.start && placeholder.start < candidate.end)
  const own = {start: placeholder.start, end: placeholder.end, forbid}
  if (!token) return undefined
  if (token.name === 'SQL_COMMENT' || token.name === 'C_COMMENT') return undefined
  if (token.name === 'IDENT') {
    return token.text.startsWith('"') ? {...own, kind: 'quoted-identifier'} : {start: token.start, end: token.end, kind: 'identifier', forbid}
  }
  if (token.name === 'SCONST' || token.name === 'USCONST') {
    const tag = /^\$[^$]*\$/.exec(token.text)?.[0]
    if (tag) {
      const inner = [...forbid, tag]
      const body = scanned(token.start + tag.length, token.end - tag.length)
      return body ? classify(marked, placeholder, body, inner, scanned, where) : {...own, kind: 'dollar-text', forbid: inner}
    }
    if (/^[eEuU]/.test(token.text)) return {...own, kind: 'escape-literal'}
    if (!/^[bBxX]/.test(token.text)) return {...own, kind: 'literal'}
  }
  throw new UsageError(`${where}: a placeholder cannot stand inside ${token.text.slice(0, 40)}; put it in a string literal or where a name goes`)
}

/** What each placeholder stands for in one namespace's run. */
export type Values = Readonly<Record<string, string>>

/** The template's text from `from` to `to` with each placeholder replaced; a value that would end its dollar quote throws. */
export function render(template: SqlTemplate, values: Values, from = 0, to = template.text.length): string {
  const {slots, text} = template
  if (slots.length === 0) return text.slice(from, to)
  let out = ''
  let at = from
  for (const slot of slots) {
    if (slot.start < from || slot.start >= to) continue
    out += text.slice(at, slot.start) + fill(template, slot, values)
    at = slot.end
  }
  return out + text.slice(at, to)
}

/**
 * Where offset `at` of render()'s whole text stands in the template's own text: a value of several lines (or of
 * another length than its placeholder) moves everything after it, and a server error's position must name the
 * file's line. An offset inside a value is the placeholder's own.
 */
export function sourceOffset(template: SqlTemplate, values: Values, at: number): number {
  let rendered = 0
  let source = 0
  for (const slot of template.slots) {
    if (at < rendered + slot.start - source) break
    rendered += slot.start - source
    rendered += fill(template, slot, values).length
    if (at < rendered) return slot.start
    source = slot.end
  }
  return source + at - rendered
}

function fill(template: SqlTemplate, slot: Slot, values: Values): string {
  const valueOf = (part: {key: string}) => {
    const value = values[part.key]
    if (value === undefined) throw new Error(`no value for \${${part.key}}`)
    return value
  }
  let filled: string
  if (slot.kind === 'identifier') filled = identifier(slot.parts, valueOf)
  else {
    const value = valueOf(slot.parts[0] as {key: string})
    filled = escapers[slot.kind](value)
  }
  const tag = slot.forbid.find((candidate) => filled.includes(candidate))
  if (tag) {
    const key = (slot.parts.find((part) => typeof part !== 'string') as {key: string}).key
    throw new UsageError(`${template.file}:${slot.line}: the value of \${${key}} contains ${tag}, which would end the dollar-quoted text it stands in; use another tag there (e.g. $body$)`)
  }
  return filled
}

const escapers: Record<Exclude<SlotKind, 'identifier'>, (value: string) => string> = {
  literal: (value) => value.replaceAll("'", "''"),
  'escape-literal': (value) => value.replaceAll('\\', '\\\\').replaceAll("'", "''"),
  'quoted-identifier': (value) => value.replaceAll('"', '""'),
  'dollar-text': (value) => value,
  copy: (value) => value.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n').replaceAll('\r', '\\r'),
}

/**
 * A word made of text and values, as PostgreSQL would read the text: written as is when it is a plain lower-case
 * name (or the value is a number standing alone), else quoted whole, its own text folded to lower case first as
 * PostgreSQL folds unquoted names: `idx_${namespace}` with `Tenant-A` is `"idx_Tenant-A"`.
 */
function identifier(parts: Slot['parts'], valueOf: (part: {key: string}) => string): string {
  if (parts.length === 1) {
    const value = valueOf(parts[0] as {key: string})
    if (/^\d+(\.\d+)?$/.test(value)) return value
  }
  const word = parts.map((part) => (typeof part === 'string' ? part.replace(/[A-Z]+/g, (upper) => upper.toLowerCase()) : valueOf(part))).join('')
  return isBareName(word) ? word : quoteIdent(word)
}

const bare = new Map<string, boolean>()

/** A name PostgreSQL reads unquoted as itself: lower case, and no keyword but an unreserved one (as quote_ident). */
function isBareName(word: string): boolean {
  if (!/^[a-z_][a-z0-9_$]*$/.test(word)) return false
  let known = bare.get(word)
  if (known === undefined) {
    const [token, more] = scanSync(word).tokens
    known = more === undefined && (token?.tokenName === 'IDENT' || token?.keywordKind === 1)
    if (bare.size < 100_000) bare.set(word, known)
  }
  return known
}
