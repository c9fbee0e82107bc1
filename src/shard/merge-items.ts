import {envelope} from '../report/envelope.js'
import type {Envelope, Result} from '../report/envelope.js'
import type {Checked} from './merge.js'
import type {ShardStamp, Stamped} from './stamp.js'

export type ItemDocument<R extends Result> = Stamped & Envelope<R>

/**
 * One report of an item command (exec, healthcheck, migrate) from its shards: every result back at its input
 * position, so the results come in input order as one run gives them; the summary counted again; the duration the
 * longest shard's (they ran side by side). With shards missing (--partial) the results present, in input order.
 */
export function mergeItems<R extends Result>(checked: Checked<ItemDocument<R>>): {report: Envelope<R>; shard: ShardStamp} {
  const first = checked.documents[0]!.document
  const slots: (R | undefined)[] = new Array(first.shard.total)
  let durationMs = 0
  let interrupted = false
  for (const {document} of checked.documents) {
    const {positions} = document.shard
    for (let i = 0; i < document.results.length; i++) slots[positions ? positions[i]! : i] = document.results[i]
    durationMs = Math.max(durationMs, document.summary.durationMs)
    interrupted ||= document.interrupted === true
  }
  const results: R[] = []
  const positions: number[] = []
  for (let position = 0; position < slots.length; position++) {
    if (slots[position] === undefined) continue
    results.push(slots[position]!)
    positions.push(position)
  }
  const whole = results.length === first.shard.total
  const shard: ShardStamp = {index: 0, count: 1, by: first.shard.by, input: first.shard.input, total: first.shard.total, ...(whole ? {} : {positions})}
  return {report: envelope(first.command, results, durationMs, interrupted), shard}
}
