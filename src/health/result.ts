import {TimeoutError} from '../engine/index.js'
import type {Outcome} from '../engine/index.js'
import {formatDuration} from '../cli/values.js'
import {round, statusOf} from '../report/envelope.js'
import type {Result} from '../report/envelope.js'
import {maskUrl} from '../report/mask.js'
import {masking} from './check.js'
import type {Check} from './check.js'
import type {ConditionResult} from './conditions.js'
import {classify} from './probes/errors.js'
import {CheckFailed} from './run-check.js'
import type {Observation} from './run-check.js'
import type {ProbeError, Phases} from './types.js'

/** A try before the last, and why it failed: the retry history of a check that passed or failed after retries. */
export interface Try {
  attempt: number
  error: ProbeError
}

/** One check in the report: `target` is its URL (password hidden), `name` what the check file calls it. */
export interface HealthResult extends Result {
  name: string
  group?: string
  tags: string[]
  /** Gatus's `extra-labels`, as on the check's Prometheus series. */
  labels?: Record<string, string>
  httpStatus?: number
  /** DNS checks: the answer's RCODE. */
  dnsRcode?: string
  responseTimeMs?: number
  ip?: string
  /** ISO time at which the earliest certificate of the chain expires. */
  certificateExpiresAt?: string
  phases: Phases
  conditions: ConditionResult[]
  error?: ProbeError
  /** The tries before the last that failed, and why (checks with retries only). */
  tries?: Try[]
}

export function healthResult(check: Check, outcome: Outcome<Observation>, history?: Try[]): HealthResult {
  const mask = masking(check)
  const result = unmasked(check, outcome)
  const earlier = history?.filter((tried) => tried.attempt < outcome.attempts)
  if (earlier && earlier.length > 0) result.tries = earlier
  if (!mask) return result
  result.target = mask(result.target)
  if (result.error) result.error = {...result.error, message: mask(result.error.message)}
  result.conditions = result.conditions.map((c) => ({...c, actual: mask(c.actual)}))
  if (result.tries) result.tries = result.tries.map((tried) => ({...tried, error: {...tried.error, message: mask(tried.error.message)}}))
  return result
}

function unmasked(check: Check, outcome: Outcome<Observation>): HealthResult {
  const base: HealthResult = {
    target: maskUrl(check.url),
    name: check.name,
    ...(check.group === undefined ? {} : {group: check.group}),
    tags: check.tags,
    ...(check.labels ? {labels: check.labels} : {}),
    status: statusOf(outcome),
    attempts: outcome.attempts,
    durationMs: round(outcome.durationMs),
    phases: {},
    conditions: [],
  }
  if (outcome.status === 'fulfilled') return {...base, ...observed(outcome.value)}
  const thrown = outcome.error
  if (thrown instanceof CheckFailed) return {...base, ...observed(thrown.observation), error: {code: thrown.code, message: thrown.message}}
  // Stopped (fail-fast, Ctrl-C) before it could say anything: the status says it all.
  if (outcome.status === 'cancelled') return base
  if (thrown instanceof TimeoutError) {
    return {...base, error: {code: 'timeout', message: `no answer within ${formatDuration(thrown.timeoutMs)}`}}
  }
  return {...base, error: classify(thrown)}
}

function observed({conditions, probe}: Observation): Partial<HealthResult> {
  return {
    ...(probe.status === undefined ? {} : {httpStatus: probe.status}),
    ...(probe.dnsRcode === undefined ? {} : {dnsRcode: probe.dnsRcode}),
    responseTimeMs: round(probe.responseTimeMs),
    ...(probe.ip === undefined ? {} : {ip: probe.ip}),
    ...(probe.certificateExpiresAt ? {certificateExpiresAt: probe.certificateExpiresAt.toISOString()} : {}),
    phases: Object.fromEntries(Object.entries(probe.phases).map(([phase, ms]) => [phase, round(ms as number)])),
    conditions,
  }
}
