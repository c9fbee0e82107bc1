import {Registry} from 'prom-client'
import {describe, expect, it} from 'vitest'

import {renderJunit} from '../../src/health/junit.js'
import {labelNames, renderPrometheus} from '../../src/health/probe-series.js'
import {ProbeMetrics} from '../../src/health/prometheus.js'
import type {HealthResult} from '../../src/health/result.js'
import {exposition} from '../../src/metrics/exposition.js'
import {envelope} from '../../src/report/envelope.js'

/** A check's result as a healthcheck run reports it; `extra` for what differs. */
function result(name: string, extra: Partial<HealthResult> = {}): HealthResult {
  return {target: `http://127.0.0.1:8080/${name}`, name, tags: [], status: 'succeeded', attempts: 1, durationMs: 12.5, phases: {connect: 0.4, ttfb: 10.1, transfer: 0.2}, conditions: [], httpStatus: 200, ...extra}
}

describe('--format prometheus without a registry', () => {
  it('is the text a prom-client registry holding ProbeMetrics prints, label escaping, float noise and repeated labels included', async () => {
    const results: HealthResult[] = [
      result('api', {labels: {team: 'platform'}, certificateExpiresAt: '2031-01-02T03:04:05.000Z', durationMs: 0.1 + 0.2}),
      result('quoted "name" \\ with\nnewline', {labels: {team: 'a"b\\c'}}),
      result('down', {status: 'failed', httpStatus: 503, error: {code: 'condition', message: '[STATUS] (503) == 200'}}),
      result('no-status', {status: 'failed', httpStatus: undefined, phases: {dns: 1.5}, error: {code: 'refused', message: 'connection refused'}}),
      result('tcp', {target: 'tcp://127.0.0.1:5432', httpStatus: undefined}),
      result('stopped', {status: 'cancelled', httpStatus: undefined, phases: {}}),
      // One name and URL in two groups: one series, the last one's figures.
      result('api', {group: 'other', labels: {team: 'platform'}, certificateExpiresAt: '2032-01-02T03:04:05.000Z', durationMs: 99, httpStatus: 204}),
    ]
    const report = envelope('healthcheck', results, 100, false)
    const registry = new Registry()
    new ProbeMetrics(registry, labelNames(results)).record(report)
    const text = renderPrometheus(report)
    expect(text).toBe((await exposition(registry)).trimEnd())
    expect(text).toContain('probe_duration_seconds{target="http://127.0.0.1:8080/api",name="api",team="platform"} 0.099')
    expect(text).toContain('name="quoted \\"name\\" \\\\ with\\nnewline",team="a\\"b\\\\c"')
    expect(text).not.toContain('stopped')
  })
})

describe('--format junit of a large report', () => {
  it('100,000 checks in one group: linear, and no stack overflow', {timeout: 120_000}, () => {
    const results = Array.from({length: 100_000}, (_, i) =>
      result(`check-${i}`, i % 10 === 0 ? {status: 'failed', error: {code: 'condition', message: '[STATUS] (503) == 200'}} : {}),
    )
    const xml = renderJunit(envelope('healthcheck', results, 1000, false))
    expect(xml.match(/<testcase /g)).toHaveLength(100_000)
    expect(xml.match(/<property /g)).toHaveLength(200_000)
    expect(xml).toContain('<testsuites name="fanout healthcheck" tests="100000" failures="10000" errors="0"')
  })
})
