import type {Envelope} from '../report/envelope.js'
import type {HealthResult} from './result.js'
import {detail} from './render.js'

/**
 * JUnit XML for CI (valid against Jenkins' junit-10.xsd): a testsuite per group, a testcase per check; a failed
 * condition is a <failure>, anything else an <error>. Each suite's <properties> hold each check's tries and phases
 * (junit-10 has properties on suites only, so they are named `<check>.tries`, `<check>.phases`); a check that
 * retried has its retry history in its <system-out>, so that a pass on the second try is not a plain pass.
 */
export function renderJunit(report: Envelope<HealthResult>): string {
  return [...junitLines(report)].join('\n')
}

/**
 * The JUnit document line by line, so that a report of 100,000 checks can be written in pieces, and linear in the
 * checks: groups grow in place, lines come one at a time (200,000 properties spread into one push overflow the stack).
 */
export function* junitLines(report: Envelope<HealthResult>): Generator<string> {
  const groups = new Map<string, HealthResult[]>()
  for (const r of report.results) {
    const group = r.group ?? 'healthcheck'
    const members = groups.get(group)
    if (members) members.push(r)
    else groups.set(group, [r])
  }
  const seconds = (ms: number) => (ms / 1000).toFixed(3)
  const count = (results: HealthResult[]) => ({
    failures: results.filter((r) => r.status === 'failed' && r.error?.code === 'condition').length,
    errors: results.filter((r) => r.status === 'failed' && r.error?.code !== 'condition').length,
    skipped: results.filter((r) => r.status === 'cancelled').length,
  })
  const all = count(report.results)
  yield '<?xml version="1.0" encoding="UTF-8"?>'
  // No skipped on <testsuites>: junit-10.xsd (Jenkins) has none there; each <testsuite> carries its own.
  yield `<testsuites name="fanout healthcheck" tests="${report.results.length}" failures="${all.failures}" errors="${all.errors}" time="${seconds(report.summary.durationMs)}">`
  for (const [group, results] of groups) {
    const c = count(results)
    const time = results.reduce((sum, r) => sum + r.durationMs, 0)
    yield `  <testsuite name="${xml(group)}" tests="${results.length}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${seconds(time)}">`
    yield '    <properties>'
    for (const r of results) {
      yield `      <property name="${xml(`${r.name}.tries`)}" value="${r.attempts}"/>`
      yield `      <property name="${xml(`${r.name}.phases`)}" value="${xml(phasesText(r))}"/>`
    }
    yield '    </properties>'
    for (const r of results) {
      const open = `    <testcase name="${xml(r.name)}" classname="${xml(group)}" time="${seconds(r.durationMs)}"`
      const history = retryHistory(r)
      if (r.status === 'succeeded' && history === undefined) {
        yield `${open}/>`
        continue
      }
      yield `${open}>`
      const text = xml(`${r.target}\n${detail(r)}`)
      if (r.status === 'cancelled') yield `      <skipped message="not finished: the run was stopped"/>`
      else if (r.status === 'succeeded') {
        // Passed, but not at once: the history says so.
      } else if (r.error?.code === 'condition') yield `      <failure type="condition" message="${xml(r.error.message)}">${text}</failure>`
      else yield `      <error type="${xml(r.error?.code ?? 'error')}" message="${xml(r.error?.message ?? '')}">${text}</error>`
      if (history !== undefined) yield `      <system-out>${xml(history)}</system-out>`
      yield '    </testcase>'
    }
    yield '  </testsuite>'
  }
  yield '</testsuites>'
}

function xml(text: string): string {
  if (!/[<>&"']/.test(text)) return text
  return text.replaceAll(/[<>&"']/g, (c) => `&#${c.codePointAt(0)};`)
}

/** `dns=0.4ms connect=0.2ms ttfb=101ms transfer=0.1ms` (empty for a check that never got as far as a phase). */
function phasesText(r: HealthResult): string {
  return Object.entries(r.phases)
    .map(([phase, ms]) => `${phase}=${round(ms)}ms`)
    .join(' ')
}

const round = (ms: number) => Math.round(ms * 1000) / 1000

/** What each try of a check that retried came to, one a line; undefined for a check tried once. */
function retryHistory(r: HealthResult): string | undefined {
  if (r.attempts <= 1) return undefined
  const last = r.status === 'succeeded' ? 'passed' : r.status === 'cancelled' ? 'cancelled' : `${r.error?.code}: ${r.error?.message}`
  const byAttempt = new Map((r.tries ?? []).map((tried) => [tried.attempt, `${tried.error.code}: ${tried.error.message}`]))
  const lines = Array.from({length: r.attempts}, (_, i) => {
    const attempt = i + 1
    return `try ${attempt} of ${r.attempts}: ${attempt === r.attempts ? last : (byAttempt.get(attempt) ?? 'failed')}`
  })
  return lines.join('\n')
}
