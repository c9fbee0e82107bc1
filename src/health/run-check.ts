import type {Check} from './check.js'
import type {ConditionResult} from './conditions.js'
import {classify} from './probes/errors.js'
import {queuedLocally} from './probes/local-queue.js'
import {probeFor} from './probes/index.js'
import {DEFAULT_RDAP_URL, domainExpiry} from './rdap.js'
import type {ErrorCode, ProbeResult} from './types.js'

/** What one attempt at a check saw: the probe's findings and each condition's verdict. */
export interface Observation {
  probe: ProbeResult
  conditions: ConditionResult[]
}

/**
 * An unhealthy check, thrown so that the engine retries it and records it failed, carrying what it saw last. When
 * the checker itself was overloaded (not the backend) it says so to the engine (`overload`).
 */
export class CheckFailed extends Error {
  readonly code: ErrorCode
  readonly overload: boolean
  constructor(readonly observation: Observation) {
    const failed = observation.conditions.find((condition) => !condition.ok)
    super(observation.probe.error?.message ?? failed?.actual ?? 'unhealthy')
    this.name = 'CheckFailed'
    this.code = observation.probe.error?.code ?? 'condition'
    this.overload = observation.probe.error?.overload === true
  }
}

export interface RunCheckOptions {
  signal: AbortSignal
  maxRedirects: number
  maxBodyBytes: number
  /** Where [DOMAIN_EXPIRATION] asks (RDAP). */
  rdapUrl?: string
  /** Told of each unhealthy attempt, for the retry history of checks that retry. */
  failed?: (failure: CheckFailed) => void
  /** Told when the probe's connect waited on the checker's own busy event loop: the checker's overload, whatever the verdict. */
  overloaded?: () => void
}

/** Probes a check's URL and evaluates its conditions; resolves when healthy, throws CheckFailed when not. */
export async function runCheck(check: Check, options: RunCheckOptions): Promise<Observation> {
  const probe = await probeFor(check.url)(check.url, {
    method: check.method,
    headers: check.headers,
    body: check.body,
    insecure: check.insecure,
    ...check.client,
    maxRedirects: options.maxRedirects,
    maxBodyBytes: options.maxBodyBytes,
    signal: options.signal,
  })
  if (!probe.error && check.conditions.some((condition) => condition.needsDomainExpiration)) {
    try {
      probe.domainExpiresAt = await domainExpiry(check.url.hostname, options.rdapUrl ?? DEFAULT_RDAP_URL, options.signal)
    } catch (error) {
      if (options.signal.aborted) throw error
      probe.error = classify(error)
    }
  }
  if (queuedLocally(probe)) options.overloaded?.()
  // Conditions ask about a response: when the probe itself failed there is none to ask about.
  const conditions = probe.error ? [] : check.conditions.map((condition) => condition.evaluate(probe))
  // The body served its conditions; kept for thousands of checks it would be most of the run's memory.
  probe.body = undefined
  const observation = {probe, conditions}
  if (probe.error || conditions.some((condition) => !condition.ok)) {
    const failure = new CheckFailed(observation)
    options.failed?.(failure)
    throw failure
  }
  return observation
}
