import {setTimeout as sleep} from 'node:timers/promises'

import type {Backoff} from './types.js'

/** Delay before retry number `retry` (1-based): exponential, capped, with part of it taken off at random. */
export function backoffDelay(retry: number, backoff: Backoff = {}, random = Math.random): number {
  const {factor = 2, initialMs = 100, jitter = 0.5, maxMs = 30_000} = backoff
  const full = Math.min(maxMs, initialMs * factor ** (retry - 1))
  return full * (1 - jitter * random())
}

/** Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, {signal})
}
