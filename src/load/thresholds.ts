import {UsageError} from '../cli/errors.js'
import {parseDuration} from '../cli/values.js'
import {LATENCY_KEYS} from './figures.js'
import type {Figures, Latency} from './figures.js'

export interface Threshold {
  expression: string
  metric: string
  operator: Operator
  /** Milliseconds for latency, a fraction for percentages, else a number. */
  limit: number
  percent: boolean
}

export interface ThresholdResult {
  expression: string
  actual: string
  pass: boolean
}

type Operator = '<' | '<=' | '>' | '>=' | '=='
const LATENCY = LATENCY_KEYS
const COUNTS = ['errors', 'non-2xx'] as const
const KNOWN = [...LATENCY, ...COUNTS, 'rps']
const TEST: Record<Operator, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
}

/**
 * `p99<200ms`, `errors<1%`, `errors==0`, `rps>1000`, `non-2xx<0.5%`. An unknown metric or a malformed expression
 * is a UsageError: a typo must never pass silently.
 */
export function parseThreshold(expression: string): Threshold {
  const match = /^\s*([a-z0-9.-]+)\s*(<=|>=|==|<|>)\s*(\S+)\s*$/i.exec(expression)
  const fail = (why: string): never => {
    throw new UsageError(`--threshold "${expression}": ${why}; e.g. "p99<200ms", "errors<1%", "rps>1000"`)
  }
  if (!match) return fail('expected METRIC OP VALUE')
  const [, rawMetric, operator, value] = match as unknown as [string, string, Operator, string]
  const metric = rawMetric.toLowerCase()
  if (!KNOWN.includes(metric)) return fail(`unknown metric "${rawMetric}" (known: ${KNOWN.join(', ')})`)
  if ((LATENCY as readonly string[]).includes(metric)) {
    const micros = /^(\d+(?:\.\d+)?)(?:us|µs)$/.exec(value)
    try {
      return {expression, metric, operator, limit: micros ? Number(micros[1]) / 1000 : parseDuration(value), percent: false}
    } catch {
      return fail(`"${value}" is not a duration like 500us, 200ms or 1.5s`)
    }
  }
  const percent = value.endsWith('%')
  if (percent && metric === 'rps') return fail('rps takes a number, not a percentage')
  const limit = Number(percent ? value.slice(0, -1) : value)
  if (!Number.isFinite(limit) || value === '' || value === '%') return fail(`"${value}" is not a number${metric === 'rps' ? '' : ' or a percentage'}`)
  return {expression, metric, operator, limit: percent ? limit / 100 : limit, percent}
}

export function evaluate(thresholds: Threshold[], figures: Figures, statuses: Record<string, number>): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const {metric, percent} = threshold
    let actual: number
    let shown: string
    if ((LATENCY as readonly string[]).includes(metric)) {
      // Under --rate the corrected figures are the honest ones.
      actual = (figures.corrected ?? figures.latency)[metric as keyof Latency]
      shown = `${actual}ms`
    } else if (metric === 'rps') {
      actual = figures.rps
      shown = String(actual)
    } else {
      const count = metric === 'errors' ? figures.errors : Object.entries(statuses).reduce((sum, [status, n]) => sum + (status.startsWith('2') ? 0 : n), 0)
      actual = percent ? (figures.requests > 0 ? count / figures.requests : 0) : count
      shown = percent ? `${(actual * 100).toFixed(2)}%` : String(actual)
    }
    return {expression: threshold.expression, actual: shown, pass: TEST[threshold.operator](actual, threshold.limit)}
  })
}
