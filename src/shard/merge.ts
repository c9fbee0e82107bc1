import {UsageError} from '../cli/errors.js'
import type {Named} from './documents.js'
import {shardName} from './spec.js'
import type {Stamped} from './stamp.js'
import {shortDigest} from './stamp.js'

/** What a domain tells the merge protocol about its documents. */
export interface MergeRules<D> {
  /**
   * The documents are runs side by side whose figures add up (loadtest): several unsharded runs merge, and with
   * --force a shard may come twice. Item commands' results belong to one input position each: never.
   */
  sideBySide?: boolean
  /** What must be alike in every document, said as the user would (e.g. paced by --rate or not); --force overrides. */
  traits?: (document: D) => Record<string, string>
}

export interface MergeOptions {
  /** Merge the shards there are and say which are missing. */
  partial: boolean
  /** Merge documents that are not one run (the same run twice, another input, another trait) and say so. */
  force: boolean
}

/** Documents that passed the checks, by shard index, and what the report must say about how they were merged. */
export interface Checked<D> {
  documents: Named<D>[]
  count: number
  missing: number[]
  notes: string[]
}

const FORCE = ' (--force merges anyway)'

/**
 * The merge protocol's checks, the same for every command: one command, distinct runs, one input, one COUNT, every
 * shard index exactly once. Whatever fails is exit 2 naming the documents; --partial and --force relax the checks
 * they name, and each relaxation becomes a note in the merged report.
 */
export function checkShards<D extends Stamped & {interrupted?: true}>(given: Named<D>[], rules: MergeRules<D>, options: MergeOptions): Checked<D> {
  const first = given[0]!
  const notes: string[] = []
  const refuse = (line: string, forceable: boolean) => {
    if (!forceable || !options.force) throw new UsageError(`${line}${forceable ? FORCE : ''}`)
    notes.push(`forced: ${line}`)
  }
  for (const {name, document} of given) {
    if (document.command !== first.document.command) {
      throw new UsageError(`${name} is a ${document.command} report and ${first.name} a ${first.document.command} report; merge the reports of one command`)
    }
  }
  const runs = new Map<string, string>()
  for (const {name, document} of given) {
    const seen = runs.get(document.runId)
    if (seen !== undefined) refuse(`${seen} and ${name} are the same run (run id ${document.runId}): one file given twice?`, true)
    else runs.set(document.runId, name)
  }
  for (const {name, document} of given.slice(1)) {
    if (document.shard.input !== first.document.shard.input) {
      refuse(`${name} and ${first.name} are runs of different inputs (${shortDigest(document.shard.input)} and ${shortDigest(first.document.shard.input)}: other targets, URLs, methods or migrations)`, true)
    }
  }
  if (rules.traits) {
    const expected = rules.traits(first.document)
    for (const {name, document} of given.slice(1)) {
      const traits = rules.traits(document)
      for (const [key, value] of Object.entries(expected)) {
        if (traits[key] !== value) refuse(`${name} is ${traits[key]} and ${first.name} ${value}: their ${key} cannot merge honestly`, true)
      }
    }
  }
  const count = first.document.shard.count
  for (const {name, document} of given) {
    if (document.shard.count !== count) {
      throw new UsageError(`${name} is ${shardName(document.shard)} and ${first.name} ${shardName(first.document.shard)}: shards of one run share one COUNT`)
    }
  }
  if (count === 1 && rules.sideBySide) return {documents: given, count, missing: [], notes}
  return {...byIndex(given, count, rules, options, notes), count, notes}
}

function byIndex<D extends Stamped & {interrupted?: true}>(given: Named<D>[], count: number, rules: MergeRules<D>, options: MergeOptions, notes: string[]) {
  const slots: Named<D>[][] = Array.from({length: count}, () => [])
  for (const named of given) slots[named.document.shard.index]!.push(named)
  const documents: Named<D>[] = []
  const missing: number[] = []
  for (let index = 0; index < count; index++) {
    let slot = slots[index]!
    if (slot.length > 1) {
      // A pod stopped (SIGTERM on eviction) prints its partial report before Kubernetes retries the index.
      const whole = slot.filter((named) => !named.document.interrupted)
      if (whole.length > 0 && whole.length < slot.length) {
        notes.push(`${shardName({index, count})}: ${slot.filter((named) => named.document.interrupted).map((named) => named.name).join(', ')} (interrupted) superseded by ${whole.map((named) => named.name).join(', ')}`)
        slot = whole
      }
    }
    if (slot.length > 1) {
      const line = `${shardName({index, count})} given ${slot.length} times: ${slot.map((named) => named.name).join(', ')}; give each shard once`
      if (!(rules.sideBySide && options.force)) throw new UsageError(`${line}${rules.sideBySide ? FORCE : ''}`)
      notes.push(`forced: ${line}`)
    }
    if (slot.length === 0) missing.push(index)
    documents.push(...slot)
  }
  if (missing.length > 0) {
    const names = missing.map((index) => shardName({index, count}))
    if (!options.partial) {
      throw new UsageError(`${names.join(', ')} missing (${given.length} document${given.length === 1 ? '' : 's'} given); give every shard's document, or --partial to merge what there is`)
    }
    notes.push(`partial: ${names.join(', ')} missing; their targets are not in this report`)
  }
  return {documents, missing}
}
