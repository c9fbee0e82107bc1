import {readFile} from 'node:fs/promises'

import {LineCounter, isMap, isScalar, isSeq, parseDocument} from 'yaml'
import type {Node, YAMLMap} from 'yaml'

import {UsageError} from '../cli/errors.js'
import {parseCount, parseDuration} from '../cli/values.js'
import {parseUrl} from './check.js'
import {parseCondition} from './conditions.js'
import type {Condition} from './conditions.js'

/** A file's text, or a UsageError naming it. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read check file "${path}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
  }
}

/** YAML text parsed (duplicate keys refused), with the line counter its reader needs for `file:line`. */
export function parseYaml(path: string, text: string): {root: Node | null; lines: LineCounter} {
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, uniqueKeys: true})
  const syntax = doc.errors[0]
  if (syntax) {
    throw new UsageError(`${path}:${syntax.linePos?.[0]?.line ?? 1}: invalid YAML: ${syntax.message.split('\n')[0]}`)
  }
  return {root: doc.contents as Node | null, lines}
}

/** Reads typed values off YAML nodes, every error pointing at the node's line. */
export class YamlReader {
  constructor(
    readonly path: string,
    private readonly lines: LineCounter,
    /** Where `${VAR}` comes from; undefined for a file whose text was expanded before parsing (Gatus's way). */
    private readonly env: NodeJS.ProcessEnv | undefined,
  ) {}

  where(node: Node | null | undefined): string {
    const offset = node?.range?.[0]
    return `${this.path}:${offset === undefined ? 1 : this.lines.linePos(offset).line}`
  }

  error(node: Node | null | undefined, message: string): UsageError {
    return new UsageError(`${this.where(node)}: ${message}`)
  }

  map(node: Node, name: string): YAMLMap {
    if (!isMap(node)) throw this.error(node, `\`${name}\` must be a mapping of keys to values`)
    return node
  }

  /** The value node of `key`, if the map has it. */
  get(map: YAMLMap, key: string): Node | undefined {
    return (map.get(key, true) ?? undefined) as Node | undefined
  }

  keys(map: YAMLMap, allowed: readonly string[]): void {
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      if (!allowed.includes(key)) {
        throw this.error(pair.key as Node, `unknown key "${key}"; expected one of: ${allowed.join(', ')}`)
      }
    }
  }

  /** A scalar as a string, with `${VAR}` and `${VAR:-fallback}` replaced from the environment. */
  string(node: Node, name: string): string {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
      throw this.error(node, `\`${name}\` must be a single value`)
    }
    const text = String(node.value)
    const env = this.env
    if (env === undefined) return text
    return text.replaceAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, variable: string, fallback?: string) => {
      const value = env[variable] ?? fallback
      if (value === undefined) throw this.error(node, `environment variable ${variable} is not set; set it or write \${${variable}:-default}`)
      return value
    })
  }

  duration(node: Node, name: string): number {
    return this.parsed(node, name, parseDuration)
  }

  count(node: Node, name: string): number {
    return this.parsed(node, name, parseCount)
  }

  /** A scalar through one of the CLI's value parsers, whose error says what it accepts. */
  private parsed(node: Node, name: string, parse: (text: string) => number): number {
    const text = this.string(node, name)
    try {
      return parse(text)
    } catch (error) {
      throw this.error(node, `\`${name}\` expects ${(error as UsageError).line}; got "${text}"`)
    }
  }

  boolean(node: Node, name: string): boolean {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value
    throw this.error(node, `\`${name}\` must be true or false`)
  }

  strings(node: Node, name: string): string[] {
    if (!isSeq(node)) throw this.error(node, `\`${name}\` must be a list`)
    return node.items.map((item) => this.string(item as Node, name))
  }

  headers(node: Node): Record<string, string> {
    const map = this.map(node, 'headers')
    const headers: Record<string, string> = {}
    for (const pair of map.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      headers[name.toLowerCase()] = this.string(pair.value as Node, `headers.${name}`)
    }
    return headers
  }

  url(node: Node): URL {
    return parseUrl(this.string(node, 'url'), this.where(node))
  }

  /** One condition or a list of them, each parsed where it is written. */
  conditions(node: Node): Condition[] {
    return (isSeq(node) ? node.items : [node]).map((item) => parseCondition(this.string(item as Node, 'conditions'), this.where(item as Node)))
  }
}
