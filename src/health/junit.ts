import type {Envelope} from '../report/envelope.js'
import type {HealthResult} from './result.js'
import {detail} from './render.js'

/** JUnit XML for CI: a testsuite per group, a testcase per check; a failed condition is a <failure>, anything else an <error>. */
export function renderJunit(report: Envelope<HealthResult>): string {
  const groups = new Map<string, HealthResult[]>()
  for (const r of report.results) {
    const group = r.group ?? 'healthcheck'
    groups.set(group, [...(groups.get(group) ?? []), r])
  }
  const seconds = (ms: number) => (ms / 1000).toFixed(3)
  const count = (results: HealthResult[]) => ({
    failures: results.filter((r) => r.status === 'failed' && r.error?.code === 'condition').length,
    errors: results.filter((r) => r.status === 'failed' && r.error?.code !== 'condition').length,
    skipped: results.filter((r) => r.status === 'cancelled').length,
  })
  const all = count(report.results)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    // No skipped on <testsuites>: junit-10.xsd (Jenkins) has none there; each <testsuite> carries its own.
    `<testsuites name="fanout healthcheck" tests="${report.results.length}" failures="${all.failures}" errors="${all.errors}" time="${seconds(report.summary.durationMs)}">`,
  ]
  for (const [group, results] of groups) {
    const c = count(results)
    const time = results.reduce((sum, r) => sum + r.durationMs, 0)
    lines.push(
      `  <testsuite name="${xml(group)}" tests="${results.length}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${seconds(time)}">`,
    )
    for (const r of results) {
      const open = `    <testcase name="${xml(r.name)}" classname="${xml(group)}" time="${seconds(r.durationMs)}"`
      if (r.status === 'succeeded') {
        lines.push(`${open}/>`)
        continue
      }
      lines.push(`${open}>`)
      const text = xml(`${r.target}\n${detail(r)}`)
      if (r.status === 'cancelled') lines.push(`      <skipped message="not finished: the run was stopped"/>`)
      else if (r.error?.code === 'condition') lines.push(`      <failure type="condition" message="${xml(r.error.message)}">${text}</failure>`)
      else lines.push(`      <error type="${xml(r.error?.code ?? 'error')}" message="${xml(r.error?.message ?? '')}">${text}</error>`)
      lines.push('    </testcase>')
    }
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>')
  return lines.join('\n')
}

function xml(text: string): string {
  return text.replaceAll(/[<>&"']/g, (c) => `&#${c.codePointAt(0)};`)
}
