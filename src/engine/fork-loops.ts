import {forkJoin} from './fork-join.js'
import type {Report} from './types.js'

/**
 * Forks `count` long-running loops and joins when all have ended; the first loop to throw cancels the rest
 * through the signal each loop is given. The same fork/join as item work, with one item per loop.
 */
export function forkLoops(
  count: number,
  loop: (worker: number, signal: AbortSignal) => Promise<void>,
  options: {signal?: AbortSignal} = {},
): Promise<Report<void>> {
  const workers = Array.from({length: count}, (_, worker) => worker)
  return forkJoin(workers, (worker, ctx) => loop(worker, ctx.signal), {workers: count, mode: 'fail-fast', signal: options.signal})
}
