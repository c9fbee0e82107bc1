import {abortableSleep, forkLoops} from '../engine/index.js'
import {Client} from './client.js'
import {Http2Client} from './http2/client.js'
import {LoadState} from './load-state.js'
import type {LoadPlan} from './load-state.js'
import {Sampler} from './samples.js'
import {snapshotOf, tallyOf} from './tally.js'
import type {Snapshot, Tally} from './tally.js'

export interface LoadOptions {
  signal?: AbortSignal
  /** Called about every 250 ms with the figures so far (progress, live metrics). */
  onTick?: (snapshot: Snapshot) => void
}

/** How long in-flight requests may still answer once the run stops sending. */
const DRAIN_MS = 1000

/**
 * Runs the plan in this thread: `workers` connection loops forked on the engine and joined when the run ends (its
 * duration, its request budget, or the signal). Timeouts are one sweep over the workers, not a timer per request.
 */
export async function runLoad(plan: LoadPlan, options: LoadOptions = {}): Promise<Tally> {
  const state = new LoadState(plan)
  const sampler = new Sampler(state)
  const clients: (Client | Http2Client)[] = []
  const stop = () => state.stop()
  options.signal?.addEventListener('abort', stop, {once: true})
  const deadline = Number.isFinite(state.deadline) ? setTimeout(stop, state.deadline - performance.now()) : undefined
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const client of clients) client.sweep(now, plan.timeoutMs)
    // Rows are cut only while sending: the measured span stops growing then, and the last row (below) takes the drain.
    if (state.wantsMore()) sampler.tick()
    options.onTick?.(snapshotOf(state))
  }, Math.min(250, Math.max(10, plan.timeoutMs / 4)))
  // Bytes count from the measured phase's start, as every other figure does.
  const warm = plan.warmupMs > 0 ? setTimeout(() => (state.recorder.bytesSent = state.recorder.bytesReceived = 0), plan.warmupMs) : undefined
  const joined = forkLoops(plan.workers, () => new Promise<void>((resolve) => {
    const client = plan.http2 ? new Http2Client(state, resolve) : new Client(state, resolve)
    clients.push(client)
    client.start()
  }))
  await state.sendingStopped
  // Requests still out (deadline, Ctrl-C, the last of a budget): they get a moment; what remains stays "in flight".
  const drain = plan.requestCount !== undefined && !options.signal?.aborted ? plan.timeoutMs : Math.min(DRAIN_MS, plan.timeoutMs)
  const grace = new AbortController()
  await Promise.race([state.finished, abortableSleep(drain, grace.signal).catch(() => {})])
  grace.abort()
  clearTimeout(deadline)
  clearTimeout(warm)
  clearInterval(sweep)
  options.signal?.removeEventListener('abort', stop)
  for (const client of clients) client.close()
  await joined
  sampler.tick(true)
  return tallyOf(state, sampler.seconds)
}
