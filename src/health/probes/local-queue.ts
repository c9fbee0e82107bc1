import {performance} from 'node:perf_hooks'
import type {EventLoopUtilization} from 'node:perf_hooks'

/**
 * The checker's own connect queueing: how long a probe's connection waited on this process rather than on the
 * network or the backend. It is the checker's overload signal besides running out of file descriptors.
 *
 * Where a probe can queue on its own side, given how connect.ts connects (net.connect, one socket per check, no pool):
 * - Not in a connection pool: there is none (no undici, no agent), so no request waits for a free socket.
 * - Not before the connect is issued, for an address or a localhost name: Node issues connect(2) on the next tick.
 *   A host name goes to getaddrinfo on libuv's threadpool (4 threads unless UV_THREADPOOL_SIZE says otherwise), and
 *   lookups beyond 4 wait there; that wait cannot be told from a slow or failing resolver (which is the target's
 *   side), so it is not taken as a signal. A resolver named by the check (dns-resolver) is asked on a socket of its
 *   own (UDP or TCP), no pool.
 * - Not in the kernel's SYN or accept queue: those are the backend's (a full accept backlog drops the SYN and the
 *   connect takes a retransmission longer: the backend is slow, the checker is not overloaded).
 * - In the event loop: the kernel completes the handshake at once, but the probe sees it only when the loop gets to
 *   the socket's event. While the loop is busy with other checks (parsing responses, evaluating conditions, starting
 *   connects), the event waits. With enough checks in flight that wait is the whole of the measured connect time, it
 *   inflates every phase and response time after it, and past the check's timeout it turns into a false verdict
 *   (a backend reported timed out because the checker was too busy to read its answer).
 *
 * The measure is the loop's own accounting (performance.eventLoopUtilization): over the connect's duration, the time
 * the loop was busy running JavaScript and the share that was of the whole. A loop that kept waiting for I/O
 * (utilization low) was ready to see the connect the moment it completed: a slow connect is then the network's or
 * the backend's, and a refused or timed-out connect never completes at all, so a slow or down target gives no
 * signal. A loop that was busy nearly all the time (SATURATED) delayed the event by about its busy time: when that
 * is QUEUED_MS or more, and the loop has also been saturated over the last whole SPAN_MS, the checker's side is the
 * bottleneck and the connect counts as locally queued.
 * Why the span too: checks against a slow backend finish in bursts (64 answers after 1 s each, all at once), and the
 * connects that their completions start wait behind the burst's parsing, 100–200 ms on a loaded machine, with the
 * loop idle the rest of the second. That is a queue, but fewer workers would not shorten it (a burst of 32 is half as
 * long, once as often): only a loop with no idle time left over a second says that more in flight cannot be served.
 * Measured on this 2-core machine under load ~15 (3,000 checks of 100 ms backends): -w 64 kept the loop 30–80% busy,
 * -w 1024 100% with timers up to 1.4 s late; -w 3000 failed 1,940 healthy checks on their 5 s timeout.
 * The busy share rather than timer lateness (monitorEventLoopDelay): on a machine shared with other processes a
 * descheduled idle loop fires its timers late without being busy, while its utilization stays low.
 */

/** Busy share of the loop over a connect above which the loop, not the network, held the connect's event. */
const SATURATED = 0.9
/**
 * Busy loop time during one connect from which it counts as the checker's overload: a tenth of a second added to
 * every phase of every check is more than most checks' RESPONSE_TIME conditions allow for the network.
 */
const QUEUED_MS = 100
/** The span over which the loop must have stayed saturated as well: long enough to hold several bursts of answers. */
const SPAN_MS = 1000

/** The loop's utilization over the last whole span, measured lazily from the first connect on (not start-up's work). */
let span: {mark: EventLoopUtilization; at: number; utilization: number} | undefined

function sustainedUtilization(): number {
  const at = performance.now()
  span ??= {mark: performance.eventLoopUtilization(), at, utilization: 0}
  if (at - span.at >= SPAN_MS) span = {utilization: performance.eventLoopUtilization(span.mark).utilization, mark: performance.eventLoopUtilization(), at}
  return span.utilization
}

/** A reading of the event loop's accounting, taken when a connect starts. */
export function loopMark(): EventLoopUtilization {
  sustainedUtilization()
  return performance.eventLoopUtilization()
}

/** Milliseconds a connect started at `mark` waited on this process's busy event loop: 0 unless the loop was saturated. */
export function queuedSince(mark: EventLoopUtilization): number {
  const {active, utilization} = performance.eventLoopUtilization(mark)
  return utilization >= SATURATED && sustainedUtilization() >= SATURATED ? active : 0
}

/** Whether a probe's connections waited on the checker long enough to count as its overload. */
export function queuedLocally(probe: {localQueueMs?: number}): boolean {
  return (probe.localQueueMs ?? 0) >= QUEUED_MS
}
