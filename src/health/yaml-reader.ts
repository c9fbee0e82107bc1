import {readFile} from 'node:fs/promises'

import {UsageError} from '../cli/errors.js'
import {parseCount, parseDuration} from '../cli/values.js'
import {parseUrl} from './check.js'
import {parseCondition} from './conditions.js'
import type {Condition} from './conditions.js'
import {Place, YamlFile} from '../cli/yaml-node.js'
import type {YamlNode} from '../cli/yaml-node.js'

/** A file's text, or a UsageError naming it. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read check file "${path}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
  }
}

/** Reads typed values off YAML nodes, every error pointing at the node's line. */
export class YamlReader {
  readonly file: YamlFile

  /** `text` parsed as the file at `path`; a YAML syntax error is a UsageError naming its line. */
  constructor(
    readonly path: string,
    text: string,
    /** Where `${VAR}` comes from; undefined for a file whose text was expanded before parsing (Gatus's way). */
    private readonly env: NodeJS.ProcessEnv | undefined,
  ) {
    this.file = new YamlFile(path, text)
  }

  get root(): YamlNode {
    return this.file.root
  }

  where(node: YamlNode | undefined): Place {
    return new Place(this.file, node)
  }

  error(node: YamlNode | undefined, message: string): UsageError {
    return new UsageError(`${this.where(node)}: ${message}`)
  }

  map(node: YamlNode, name: string): YamlNode {
    if (!node.isMap) throw this.error(node, `\`${name}\` must be a mapping of keys to values`)
    return node
  }

  keys(map: YamlNode, allowed: readonly string[]): void {
    for (const {key, keyNode} of map.pairs()) {
      if (!allowed.includes(key)) throw this.error(keyNode, `unknown key "${key}"; expected one of: ${allowed.join(', ')}`)
    }
  }

  /** A scalar as a string, with `${VAR}` and `${VAR:-fallback}` replaced from the environment. */
  string(node: YamlNode, name: string): string {
    if (node.value === null || node.value === undefined || typeof node.value === 'object') {
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

  /** The string under `key` of a map, if it has one. */
  text(map: YamlNode, key: string): string | undefined {
    const node = map.get(key)
    return node ? this.string(node, key) : undefined
  }

  /** The boolean under `key` of a map, if it has one. */
  flag(map: YamlNode, key: string): boolean | undefined {
    const node = map.get(key)
    return node ? this.boolean(node, key) : undefined
  }

  duration(node: YamlNode, name: string): number {
    return this.parsed(node, name, parseDuration)
  }

  count(node: YamlNode, name: string): number {
    return this.parsed(node, name, parseCount)
  }

  /** A scalar through one of the CLI's value parsers, whose error says what it accepts. */
  private parsed(node: YamlNode, name: string, parse: (text: string) => number): number {
    const text = this.string(node, name)
    try {
      return parse(text)
    } catch (error) {
      throw this.error(node, `\`${name}\` expects ${(error as UsageError).line}; got "${text}"`)
    }
  }

  boolean(node: YamlNode, name: string): boolean {
    if (typeof node.value === 'boolean') return node.value
    throw this.error(node, `\`${name}\` must be true or false`)
  }

  strings(node: YamlNode, name: string): string[] {
    if (!node.isSeq) throw this.error(node, `\`${name}\` must be a list`)
    return node.items().map((item) => this.string(item, name))
  }

  headers(node: YamlNode): Record<string, string> {
    const headers: Record<string, string> = {}
    for (const {key, value} of this.map(node, 'headers').pairs()) headers[key.toLowerCase()] = this.string(value, `headers.${key}`)
    return headers
  }

  url(node: YamlNode): URL {
    return parseUrl(this.string(node, 'url'), this.where(node))
  }

  /** One condition or a list of them, each parsed where it is written. */
  conditions(node: YamlNode): Condition[] {
    return (node.isSeq ? node.items() : [node]).map((item) => parseCondition(this.string(item, 'conditions'), this.where(item)))
  }
}
