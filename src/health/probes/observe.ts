import type {Phases, ProbeResult} from '../types.js'
import {classify, isTimeout} from './errors.js'

/**
 * Runs a probe's exchange and turns its failure into `error`. The exchange records what it sees into `seen` as it goes,
 * so a probe stopped half-way still reports how far it got (connected, status, phases).
 *
 * Cancellation: when the signal aborts with a timeout reason the probe resolves with code `timeout`; with any other
 * reason (Ctrl-C, fail-fast) it rejects with that reason, as `fetch` does, so that the engine records it cancelled
 * rather than as a finding about the backend.
 */
export async function observe(signal: AbortSignal, exchange: (seen: ProbeResult) => Promise<void>): Promise<ProbeResult> {
  const started = performance.now()
  const seen: ProbeResult = {connected: false, responseTimeMs: 0, phases: {}}
  try {
    signal.throwIfAborted()
    await exchange(seen)
  } catch (error) {
    // Once the signal aborted, whatever the exchange threw (a destroyed socket's error) is only a consequence of that.
    const cause = signal.aborted ? signal.reason : error
    if (signal.aborted && !isTimeout(cause)) throw cause
    seen.error = classify(cause)
    if (seen.error.code === 'timeout' && signal.aborted) seen.error.message += ` ${stage(seen)}`
  }
  // A probe that measured its own round trip (ping's RTT) keeps it.
  if (seen.responseTimeMs === 0) seen.responseTimeMs = performance.now() - started
  return seen
}

/** How far a timed-out probe got: what tells a firewall (never connected) from a hung server (connected, no answer). */
function stage(seen: ProbeResult): string {
  if (seen.status !== undefined) return `while reading the body (status ${seen.status})`
  if (seen.connected) return `after connecting to ${seen.ip}`
  return seen.ip === undefined ? 'while connecting' : `during the TLS handshake with ${seen.ip}`
}

/** Adds to a phase: a probe that connects again (a redirect to another host) spends the phase more than once. */
export function addPhase(phases: Phases, phase: keyof Phases, ms: number): void {
  phases[phase] = (phases[phase] ?? 0) + ms
}
