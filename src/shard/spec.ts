import {UsageError} from '../cli/errors.js'

export type ShardBy = 'hash' | 'range'

/** Which part of the input this process works on: shard `index` (0-based, as Kubernetes numbers pods) of `count`. */
export interface ShardSpec {
  index: number
  count: number
  by: ShardBy
}

const FORMAT = 'INDEX/COUNT like 0/4 (0-based: INDEX from 0 to COUNT-1), or auto (JOB_COMPLETION_INDEX/JOB_COMPLETIONS)'

/**
 * `--shard 2/7`, or `--shard auto` from a Kubernetes Indexed Job's environment. Kubernetes sets
 * JOB_COMPLETION_INDEX itself; JOB_COMPLETIONS is set by the Job's pod template (deploy/kubernetes/), since
 * Kubernetes does not tell a pod how many completions its Job has. Never read implicitly: a process that was not
 * asked to shard does the whole input.
 */
export function parseShard(input: string, by: ShardBy, env: NodeJS.ProcessEnv = process.env): ShardSpec {
  if (input === 'auto') {
    const index = env.JOB_COMPLETION_INDEX
    const count = env.JOB_COMPLETIONS
    if (index === undefined || count === undefined) {
      const unset = [index === undefined ? 'JOB_COMPLETION_INDEX' : '', count === undefined ? 'JOB_COMPLETIONS' : ''].filter(Boolean).join(' and ')
      throw new UsageError(`--shard auto: ${unset} not set (an Indexed Job sets JOB_COMPLETION_INDEX; set JOB_COMPLETIONS in its pod template), or give --shard INDEX/COUNT`)
    }
    return checked(`${index}/${count}`, by, `auto (JOB_COMPLETION_INDEX=${index}, JOB_COMPLETIONS=${count})`)
  }
  return checked(input, by, input)
}

function checked(text: string, by: ShardBy, given: string): ShardSpec {
  const match = /^(\d{1,9})\/(\d{1,9})$/.exec(text.trim())
  const index = Number(match?.[1])
  const count = Number(match?.[2])
  if (!match || count < 1 || index >= count) throw new UsageError(`--shard expects ${FORMAT}; got "${given}"`)
  return {index, count, by}
}

/** `shard 2/7`, for progress lines and reports. */
export function shardName(spec: {index: number; count: number}): string {
  return `shard ${spec.index}/${spec.count}`
}
