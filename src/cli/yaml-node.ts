import {CORE_SCHEMA, EVENT_ID, getScalarValue, loadAll, mergeTag, parseEvents} from 'js-yaml'
import type {Event} from 'js-yaml'

import {UsageError} from './errors.js'
import {lineAt} from './line-at.js'

/**
 * YAML 1.2's core schema, as Gatus's YAML reader also has it, and merge keys (`<<: *defaults`), which Gatus configs
 * use to share a client block between endpoints.
 */
const SCHEMA = CORE_SCHEMA.withTags(mergeTag)

/** Separates the steps of a node's path, and marks the place of a map key rather than its value. */
const STEP = '\u0000'
const KEY = '\u0001'

/**
 * A value of a parsed YAML file, with the way to it from the root: map keys and list indexes. Values are plain
 * JavaScript (js-yaml builds them ten times as fast as a node tree with source ranges, in a fifth of the memory,
 * which a Gatus file of 20,000 endpoints needs); the line a node stands on is looked up from its path only when a
 * message needs it (YamlFile.lineOf).
 */
export class YamlNode {
  constructor(
    readonly value: unknown,
    private readonly parent?: YamlNode,
    private readonly step?: string | number,
    /** The node is a map key, whose own line an error about the key names. */
    readonly isKey = false,
  ) {}

  get isMap(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value)
  }

  get isSeq(): boolean {
    return Array.isArray(this.value)
  }

  /** The node under `key` of a map, if it has one. */
  get(key: string): YamlNode | undefined {
    const map = this.value as Record<string, unknown>
    return this.isMap && Object.hasOwn(map, key) ? new YamlNode(map[key], this, key) : undefined
  }

  /** A map's keys in the order written, each with a node of its own for messages about the key. */
  pairs(): {key: string; keyNode: YamlNode; value: YamlNode}[] {
    if (!this.isMap) return []
    return Object.entries(this.value as Record<string, unknown>).map(([key, value]) => ({
      key,
      keyNode: new YamlNode(key, this, key, true),
      value: new YamlNode(value, this, key),
    }))
  }

  /** A list's items. */
  items(): YamlNode[] {
    return this.isSeq ? (this.value as unknown[]).map((item, index) => new YamlNode(item, this, index)) : []
  }

  /** The way from the root, as YamlFile's positions are keyed. */
  path(): string {
    return this.parent === undefined ? '' : `${this.parent.path()}${STEP}${this.step}`
  }
}

/**
 * A YAML file's text parsed to values (duplicate keys refused, one document), and the lines its nodes stand on,
 * found when asked: the first question reads the file's events once (positions without values, a tenth of the cost
 * of the parse) and keeps where each path begins.
 */
export class YamlFile {
  readonly root: YamlNode
  private positions: Map<string, number> | undefined

  constructor(
    readonly path: string,
    private readonly text: string,
  ) {
    let documents: unknown[]
    try {
      // js-yaml stops at 10,000 merged keys, against a file whose few lines merge into millions; a Gatus file merging a
      // client block into each of thousands of endpoints passes that. Bounded by the text's length instead, what a
      // merge can add stays linear in the file.
      documents = loadAll(text, {schema: SCHEMA, filename: path, maxTotalMergeKeys: Math.max(10_000, text.length)})
    } catch (error) {
      const {reason, mark} = error as {reason?: string; mark?: {line: number}}
      if (reason === undefined) throw error
      throw new UsageError(`${path}:${(mark?.line ?? 0) + 1}: invalid YAML: ${reason}`)
    }
    if (documents.length > 1) throw new UsageError(`${path}: holds ${documents.length} YAML documents (---); a configuration file is one`)
    this.root = new YamlNode(documents[0] ?? null)
  }

  /** The 1-based line of a node (of a map key, for a key node); a node made by a merge key has its map's line. */
  lineOf(node: YamlNode | undefined): number {
    if (node === undefined) return 1
    const positions = (this.positions ??= this.readPositions())
    let path = node.path()
    let offset = node.isKey ? positions.get(path + KEY) : undefined
    for (; offset === undefined; path = path.slice(0, Math.max(0, path.lastIndexOf(STEP)))) {
      offset = positions.get(path)
      if (path === '') break
    }
    return lineAt(this.text, offset ?? 0)
  }

  /** Where each node begins, by path (and each map key, by its value's path and KEY). */
  private readPositions(): Map<string, number> {
    const positions = new Map<string, number>()
    const open: {path: string; map: boolean; index: number; key: string | undefined}[] = []
    const begin = (event: Event): number => {
      if (event.type === EVENT_ID.SCALAR) return event.valueStart
      if (event.type === EVENT_ID.ALIAS) return Math.max(0, event.anchorStart - 1)
      return 'start' in event ? event.start : 0
    }
    for (const event of parseEvents(this.text, {filename: this.path})) {
      if (event.type === EVENT_ID.DOCUMENT) continue
      if (event.type === EVENT_ID.POP) {
        open.pop()
        continue
      }
      const parent = open.at(-1)
      let path = ''
      if (parent?.map && parent.key === undefined) {
        // A key: its value, the next node, takes the path; a key that is itself a collection is named by no text.
        parent.key = event.type === EVENT_ID.SCALAR ? getScalarValue(this.text, event) : '?'
        positions.set(`${parent.path}${STEP}${parent.key}${KEY}`, begin(event))
        if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) open.push({path: '?', map: false, index: 0, key: undefined})
        continue
      }
      if (parent?.map) {
        path = `${parent.path}${STEP}${parent.key}`
        parent.key = undefined
      } else if (parent) {
        path = `${parent.path}${STEP}${parent.index++}`
      }
      if (!positions.has(path)) positions.set(path, begin(event))
      if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) open.push({path, map: event.type === EVENT_ID.MAPPING, index: 0, key: undefined})
    }
    return positions
  }
}

/** Where a node stands, `file:line`, worked out when it is printed: most places (one per check) never are. */
export class Place {
  constructor(
    private readonly file: YamlFile,
    private readonly node: YamlNode | undefined,
  ) {}

  toString(): string {
    return `${this.file.path}:${this.file.lineOf(this.node)}`
  }
}

/** A place as `file:line` text, or one that says it when printed. */
export type Where = string | Place
