import {createHash, randomUUID} from 'node:crypto'

import {shardPositions} from './assign.js'
import {shardName} from './spec.js'
import type {ShardBy, ShardSpec} from './spec.js'

/**
 * What every --json / --output document says of the run it came from, so that `fanout merge` can tell shards of
 * one run from anything else: which shard of how many, of which input, and where its results stood in that input.
 */
export interface ShardStamp {
  index: number
  count: number
  by: ShardBy
  /** SHA-256 of the whole input (before it was split): the same in every shard of one run. */
  input: string
  /** Targets in the whole input. */
  total: number
  /** Item commands sharded over COUNT > 1: the input position of each result, in the order of `results`. */
  positions?: number[]
}

/** The fields every document carries first, after `command`. */
export interface Stamped {
  command: string
  /** Unique to the process that wrote the document: the same file given twice to merge is the same run id twice. */
  runId: string
  shard: ShardStamp
}

/** SHA-256 of a list, each entry length-prefixed so that ["ab","c"] and ["a","bc"] differ. */
export function inputDigest(parts: Iterable<string>): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(`${part.length}:${part}\n`)
  return `sha256:${hash.digest('hex')}`
}

/** One run's sharding: its run id, and the slice of an item list it works on. */
export class Sharding {
  readonly runId = randomUUID()

  constructor(readonly spec: ShardSpec | undefined) {}

  /** `exec` or `exec [shard 2/7]`: the progress line's label. */
  label(command: string): string {
    return this.spec && this.spec.count > 1 ? `${command} [${shardName(this.spec)}]` : command
  }

  /**
   * This shard's items, in input order, and the stamp for its report. `identity` is what the hash assigns by (a
   * namespace, a check name, a target); `digest` is what the input digest covers (the identities, and more where
   * the same names could mean other work: the migrations, a check's URL).
   */
  take<T>(items: readonly T[], identity: (item: T) => string, digest: Iterable<string> = []): {items: T[]; stamp: ShardStamp} {
    const identities = items.map(identity)
    const input = inputDigest([...identities, ...digest])
    const spec = this.spec ?? {index: 0, count: 1, by: 'hash' as const}
    if (spec.count === 1) return {items: [...items], stamp: {...spec, input, total: items.length}}
    const positions = shardPositions(identities, spec)
    return {items: positions.map((position) => items[position]!), stamp: {...spec, input, total: items.length, positions}}
  }

  /** The stamp of a command that splits figures rather than items (loadtest). */
  whole(digest: Iterable<string>, total: number): ShardStamp {
    return {...(this.spec ?? {index: 0, count: 1, by: 'hash' as const}), input: inputDigest(digest), total}
  }
}

/** `document` with `runId` and `shard` right after `command`, where a reader of the JSON looks first. */
export function stamped<D extends {command: string}>(document: D, runId: string, shard: ShardStamp): Stamped & D {
  const {command, ...rest} = document
  return {command, runId, shard, ...rest} as Stamped & D
}

/** The report's line about its shard (none for an unsharded run): `shard 2/7 (by hash) · 14 of 100 targets · input sha256:1a2b…`. */
export function describeShard(shard: ShardStamp, items: number | undefined): string {
  if (shard.count === 1) return ''
  const part = items === undefined ? '' : ` · ${items} of ${shard.total} target${shard.total === 1 ? '' : 's'}`
  return `${shardName(shard)} (by ${shard.by})${part} · input ${shortDigest(shard.input)}`
}

export function shortDigest(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`
}
