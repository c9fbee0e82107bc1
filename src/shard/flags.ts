import {Flags} from '@oclif/core'

import {parseShard} from './spec.js'
import type {ShardBy, ShardSpec} from './spec.js'

/** `--shard` and `--shard-by`, the same on every command that shards. */
export const shardFlags = {
  shard: Flags.string({
    helpValue: '<INDEX/COUNT|auto>',
    summary: 'Work on shard INDEX (0-based) of COUNT only; auto reads JOB_COMPLETION_INDEX and JOB_COMPLETIONS (a Kubernetes Indexed Job). fanout merge joins the shards\' --json reports.',
  }),
  'shard-by': Flags.string({
    options: ['hash', 'range'],
    default: 'hash',
    summary: 'hash: each target by a stable hash of its name (the same shard for the same COUNT, whatever else the input holds). range: consecutive blocks of the input.',
  }),
}

/** The parsed --shard, or undefined when not asked for (never implied by the environment). */
export function shardSpecOf(flags: {shard?: string; 'shard-by': string}): ShardSpec | undefined {
  return flags.shard === undefined ? undefined : parseShard(flags.shard, flags['shard-by'] as ShardBy)
}
