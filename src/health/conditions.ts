import {UsageError} from '../cli/errors.js'
import {accepts, formatBytes, formatDuration, parseTimeSpan} from '../cli/values.js'
import type {ProbeResult} from './types.js'
import type {Where} from '../cli/yaml-node.js'

export interface ConditionResult {
  /** The condition as written, e.g. `[STATUS] == 200`. */
  condition: string
  ok: boolean
  /** The condition with the value the probe saw, Gatus style: `[STATUS] (503) == 200`. */
  actual: string
}

export interface Condition {
  readonly text: string
  /** The condition asks about [DOMAIN_EXPIRATION]: the check must look the domain up (RDAP) before evaluating it. */
  readonly needsDomainExpiration: boolean
  /** `now` is what certificate expiry is measured from. */
  evaluate(result: ProbeResult, now?: Date): ConditionResult
}

type Op = '==' | '!=' | '<' | '<=' | '>' | '>='
/** What the left side yields; it decides which operators and right-hand values make sense, so typos fail at parse time. */
type Kind = 'number' | 'duration' | 'boolean' | 'text' | 'json'
type Scalar = number | string | boolean
/** A value the probe did not see: the condition fails and `actual` shows why in place of the value. */
class Absent {
  constructor(readonly absent: string) {}
}
type Value = Scalar | Absent
type Step = string | number

interface Subject {
  kind: Kind
  resolve(result: ProbeResult, now: Date): Value
}

const ABSENT = new Absent('absent')
const KNOWN = '[STATUS] [RESPONSE_TIME] [BODY] [BODY].path [CONNECTED] [CERTIFICATE_EXPIRATION] [DOMAIN_EXPIRATION] [IP] [DNS_RCODE]'
const NUMBER = /^-?\d+(?:\.\d+)?$/
const SHOWN_CHARS = 80

const PLACEHOLDERS = new Map<string, Subject>([
  ['STATUS', {kind: 'number', resolve: (r) => r.status ?? ABSENT}],
  ['RESPONSE_TIME', {kind: 'duration', resolve: (r) => r.responseTimeMs}],
  ['CONNECTED', {kind: 'boolean', resolve: (r) => r.connected}],
  ['CERTIFICATE_EXPIRATION', {kind: 'duration', resolve: (r, now) => (r.certificateExpiresAt ? +r.certificateExpiresAt - +now : ABSENT)}],
  ['IP', {kind: 'text', resolve: (r) => r.ip ?? ABSENT}],
  ['DNS_RCODE', {kind: 'text', resolve: (r) => r.dnsRcode ?? ABSENT}],
  ['DOMAIN_EXPIRATION', {kind: 'duration', resolve: (r, now) => (r.domainExpiresAt ? +r.domainExpiresAt - +now : ABSENT)}],
])

const COMPARE: Record<Op, (a: number, b: number) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
}

/** Deepest JSON nesting read: deeper values cannot be shown (JSON.stringify recurses) and no health document needs them. */
export const MAX_JSON_DEPTH = 1000

const TOO_DEEP = new Absent(`JSON nested deeper than ${MAX_JSON_DEPTH} levels, not read`)

// A check has several conditions on one body: parse it once per probe, not once per condition.
const parsedBodies = new WeakMap<ProbeResult, unknown>()

/** Why the body cannot be judged at all, or undefined when it can. */
function unreadable(result: ProbeResult): Absent | undefined {
  if (result.bodyOverLimit === undefined) return undefined
  return new Absent(`body over --max-body ${formatBytes(result.bodyOverLimit)}, not read past it; raise --max-body`)
}

/** The body as JSON, or why it cannot be judged (cut at the limit, nested too deep). */
function readJson(result: ProbeResult): unknown {
  return unreadable(result) ?? json(result)
}

/** The body as JSON; undefined (which JSON cannot hold) when there is no body or it is not JSON; Absent when too deep. */
function json(result: ProbeResult): unknown {
  if (!parsedBodies.has(result)) {
    let value: unknown
    const body = result.body
    if (body === undefined) value = undefined
    else if (body.length > 2 * MAX_JSON_DEPTH && nestingDepth(body) > MAX_JSON_DEPTH) value = TOO_DEEP
    else {
      try {
        value = JSON.parse(body)
      } catch {
        value = undefined
      }
    }
    parsedBodies.set(result, value)
  }
  return parsedBodies.get(result)
}


/** The deepest nesting of [ and { outside strings, stopping once past the limit: a loop, so no depth breaks it. */
function nestingDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > MAX_JSON_DEPTH) return deepest
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return deepest
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function walk(value: unknown, path: Step[]): unknown {
  for (const step of path) {
    // Own keys only, so that `.constructor` or `.length` never resolve to something the body did not say.
    const fits = typeof step === 'number' ? Array.isArray(value) : isRecord(value) && Object.hasOwn(value, step)
    if (!fits) return undefined
    value = (value as Record<Step, unknown>)[step]
  }
  return value
}

function bodyAt(path: Step[]): Subject {
  return {
    kind: 'json',
    resolve(result) {
      const cut = unreadable(result)
      if (cut) return cut
      // The whole body is compared as sent: re-serialising parsed JSON would defeat pat() on its exact text.
      if (path.length === 0) return result.body ?? ABSENT
      const parsed = json(result)
      if (parsed instanceof Absent) return parsed
      const value = walk(parsed, path)
      return value === undefined ? ABSENT : typeof value === 'string' ? value : JSON.stringify(value)
    },
  }
}

function lengthAt(path: Step[]): Subject {
  return {
    kind: 'number',
    resolve(result) {
      const parsed = readJson(result)
      if (parsed instanceof Absent) return parsed
      // len([BODY]) counts the items of a JSON array or object body (as Gatus does), else the body's characters.
      const value = path.length > 0 ? walk(parsed, path) : typeof parsed === 'object' && parsed !== null ? parsed : result.body
      if (typeof value === 'string' || Array.isArray(value)) return value.length
      if (isRecord(value)) return Object.keys(value).length
      return value === undefined ? ABSENT : new Absent(`${JSON.stringify(value)} has no length`)
    },
  }
}

function hasPath(path: Step[]): Subject {
  return {
    kind: 'boolean',
    // A body that is not JSON says nothing about its keys: has([BODY].error) == false must not pass on an HTML error page.
    resolve(result) {
      const parsed = readJson(result)
      if (parsed instanceof Absent) return parsed
      return parsed === undefined ? ABSENT : walk(parsed, path) !== undefined
    },
  }
}

/** Numbers when both sides read as numbers (a JSON "200" equals 200), else text; ordering text is never true. */
function compare(a: Scalar, op: Op, b: Scalar): boolean {
  const x = typeof a === 'number' ? a : typeof a === 'string' && NUMBER.test(a) ? Number(a) : undefined
  const y = typeof b === 'number' ? b : typeof b === 'string' && NUMBER.test(b) ? Number(b) : undefined
  if (x !== undefined && y !== undefined) return COMPARE[op](x, y)
  if (op === '==' || op === '!=') return (String(a) === String(b)) === (op === '==')
  return false
}

/** One line, whatever the body holds: `actual` ends up in a report line and an error message. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1))
}

function show(kind: Kind, value: Scalar): string {
  if (typeof value === 'string') return printable(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value)
  if (typeof value !== 'number' || kind !== 'duration') return String(value)
  // Only a certificate's time left can be negative.
  return value < 0 ? `expired ${formatDuration(-value)} ago` : formatDuration(value)
}

const unquote = (text: string): string => /^"(.*)"$/s.exec(text)?.[1] ?? text

/** What is wrong with the nesting of brackets, parentheses and quotes, if anything; quoted text is exempt. */
function unbalanced(text: string): string | undefined {
  const bare = text.replace(/"[^"]*"/g, '')
  if (bare.includes('"')) return 'an unclosed "'
  const open: string[] = []
  for (const c of bare) {
    if (c === '(' || c === '[') open.push(c)
    else if ((c === ')' || c === ']') && open.pop() !== (c === ')' ? '(' : '[')) return `an unmatched ${c}`
  }
  return open.length > 0 ? `an unclosed ${open.at(-1)}` : undefined
}

/**
 * `LEFT OP RIGHT`: LEFT is a placeholder, `len(...)` or `has(...)`; RIGHT a value, `pat(GLOB)` or `any(a, b, ...)`.
 * Throws UsageError `${where}: <what is wrong> in "<condition>"; <the fix>`.
 */
export function parseCondition(text: string, where: Where): Condition {
  const source = text.trim()
  function fail(what: string, fix: string): never {
    throw new UsageError(`${where}: ${what} in "${printable(source)}"; ${fix}`)
  }
  if (source === '') throw new UsageError(`${where}: empty condition; write one like [STATUS] == 200`)
  const nesting = unbalanced(source)
  if (nesting) fail(nesting, 'close each ( with ), [ with ] and " with "; put quotes around a value that holds brackets')

  let pos = 0
  // Sticky regexes read at the cursor and move it past what they matched.
  function eat(re: RegExp): RegExpExecArray | null {
    re.lastIndex = pos
    const match = re.exec(source)
    if (match) pos = re.lastIndex
    return match
  }

  function placeholder(): {name: string; path: Step[]} | undefined {
    const start = pos
    const head = eat(/\[([^\]\s]*)\]/y)
    if (!head) return undefined
    const name = head[1]!
    if (name !== 'BODY' && !PLACEHOLDERS.has(name)) fail(`unknown placeholder [${name}]`, `use one of ${KNOWN}`)
    const path: Step[] = []
    for (let step; (step = eat(/\.([^.[\]\s()=!<>,"]+)|\[(\d+)\]/y)); ) path.push(step[2] === undefined ? step[1]! : Number(step[2]))
    if (eat(/[.[]/y)) {
      fail(`a bad path after ${source.slice(start, pos - 1)}`, 'write keys as .key and array indexes as [0], like [BODY].items[0].name')
    }
    if (name !== 'BODY' && path.length > 0) fail(`a path after [${name}]`, 'only [BODY] takes a path, like [BODY].status')
    return {name, path}
  }

  function left(): Subject {
    const call = eat(/(\w+)\s*\(\s*/y)
    if (!call) {
      const found = placeholder()
      const what = /^[=!<>]/.test(source) ? 'nothing on the left side' : 'the left side is not a placeholder'
      if (!found) fail(what, 'write the placeholder first, like [STATUS] == 200')
      return found.name === 'BODY' ? bodyAt(found.path) : PLACEHOLDERS.get(found.name)!
    }
    const fn = call[1]!
    if (fn === 'pat' || fn === 'any') fail(`${fn}() on the left side`, `put it on the right, like [BODY].status == ${fn}(UP*)`)
    if (fn !== 'len' && fn !== 'has') fail(`unknown function ${fn}()`, 'use len() or has() on the left, pat() or any() on the right')
    const found = placeholder()
    if (found?.name !== 'BODY' || (fn === 'has' && found.path.length === 0) || !eat(/\s*\)/y)) {
      fail(`${fn}() takes ${fn === 'has' ? 'a body path' : '[BODY] or a body path'}`, `write it like ${fn}([BODY].items)`)
    }
    return fn === 'len' ? lengthAt(found.path) : hasPath(found.path)
  }

  const subject = left()
  const {kind} = subject
  const leftText = source.slice(0, pos)
  const op = eat(/\s*(==|!=|<=|>=|<|>)/y)?.[1] as Op | undefined
  if (!op) fail(`no operator after ${leftText}`, 'write one of == != < <= > >= between the two sides, like [STATUS] == 200')
  const rightText = source.slice(pos).trim()
  if (rightText === '') fail(`nothing on the right of ${op}`, `write a value, like ${leftText} ${op} 200`)
  const equality = op === '==' || op === '!='
  const describe = {number: 'a number', duration: 'a duration', boolean: 'true or false', text: 'text', json: 'text'}[kind]

  function literal(raw: string, op: Op): Scalar {
    const value = unquote(raw)
    if (raw === value && /^\[[A-Z_]+\]/.test(raw)) {
      fail('a placeholder on the right side', `compare ${leftText} with a value, or put quotes around text that starts with [`)
    }
    switch (kind) {
      case 'number':
        if (!NUMBER.test(value)) fail(`${leftText} expects a number, not "${value}",`, `write it like ${leftText} ${op} 200`)
        return Number(value)
      case 'duration':
        try {
          return NUMBER.test(value) ? Number(value) : parseTimeSpan(value)
        } catch {
          return fail(`${leftText} expects a duration, not "${value}",`, `use ${accepts.duration}, 48h, or plain milliseconds like 300`)
        }
      case 'boolean':
        if (value !== 'true' && value !== 'false') {
          fail(`${leftText} is true or false, not "${value}",`, `write ${leftText} == true or ${leftText} == false`)
        }
        return value === 'true'
      default:
        if (op !== '==' && op !== '!=' && !NUMBER.test(value)) {
          fail(`${op} compares numbers and "${value}" is not one`, 'use == or != to compare text, or pat() to match it')
        }
        return value
    }
  }

  /** A placeholder on the right (Gatus's `[BODY].id == [BODY].parent`): compared with what it resolves to. */
  function otherSide(): Subject | undefined {
    if (!/^\[[A-Z_]+\]/.test(rightText)) return undefined
    pos = source.length - rightText.length
    const found = placeholder()
    if (!found || pos !== source.length) fail('text after the placeholder on the right side', 'compare with one placeholder, like [BODY].a == [BODY].b')
    const other = found.name === 'BODY' ? bodyAt(found.path) : PLACEHOLDERS.get(found.name)!
    // Text and numbers compare as compare() says; true or false only with true or false.
    if ((other.kind === 'boolean') !== (kind === 'boolean')) fail(`${leftText} is ${describe} and ${rightText} is not`, 'compare placeholders of the same kind')
    return other
  }

  /** The right side as a test of the left side's value. */
  function right(op: Op): (value: Scalar) => boolean {
    const call = /^(\w+)\s*\((.*)\)$/s.exec(rightText)
    if (!call) {
      if (/^\w+\s*\(/.test(rightText)) fail('text after the closing )', 'end the condition with the ), or put quotes around the value')
      if (!equality && (kind === 'boolean' || kind === 'text')) fail(`${leftText} is ${describe}, so ${op} does not apply`, 'use == or !=')
      const expected = literal(rightText, op)
      return (value) => compare(value, op, expected)
    }
    const fn = call[1]!
    const inner = call[2]!.trim()
    if (fn !== 'pat' && fn !== 'any') {
      fail(`${fn}() on the right side`, 'use a value, pat(GLOB) or any(a, b); put quotes around text that looks like a call')
    }
    if (!equality) fail(`${fn}() takes only == or !=`, `write it like ${leftText} == ${fn}(...)`)
    const wanted = op === '=='
    if (fn === 'pat') {
      if (kind === 'boolean' || kind === 'duration') {
        fail(`pat() matches text and ${leftText} is ${describe}`, 'compare it with a value instead')
      }
      // A glob: * is any run of characters, ? one; everything else is literal, newlines included.
      const glob = unquote(inner).replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')
      const pattern = new RegExp(`^${glob}$`, 's')
      return (value) => pattern.test(String(value)) === wanted
    }
    // Commas inside quotes belong to the value.
    const items = inner.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((item) => item.trim())
    if (items.includes('')) fail('an empty value in any()', 'list values separated by commas, like any(200, 204)')
    const expected = items.map((item) => literal(item, '=='))
    return (value) => expected.some((candidate) => compare(value, '==', candidate)) === wanted
  }

  const other = otherSide()
  const test = other ? undefined : right(op)
  const needsDomainExpiration = source.includes('[DOMAIN_EXPIRATION]')
  const shownOf = (value: Value, of: Kind) => (value instanceof Absent ? value.absent : show(of, value))
  return {
    text: source,
    needsDomainExpiration,
    evaluate(result, now = new Date()) {
      const value = subject.resolve(result, now)
      const absent = value instanceof Absent
      if (other) {
        const against = other.resolve(result, now)
        const ok = !absent && !(against instanceof Absent) && compare(value, op, against)
        return {condition: source, ok, actual: `${leftText} (${shownOf(value, kind)}) ${op} ${rightText} (${shownOf(against, other.kind)})`}
      }
      return {condition: source, ok: !absent && test!(value), actual: `${leftText} (${shownOf(value, kind)}) ${op} ${rightText}`}
    },
  }
}
