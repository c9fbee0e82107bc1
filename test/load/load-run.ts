import {expect} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import type {CliOptions} from '../helpers/cli.js'

/** The parts of `loadtest --json` the protocol tests read. */
export interface LoadJson {
  ok: boolean
  summary: {requests: number; completed: number; errors: number; inFlight: number; rps: number}
  status: Record<string, number>
  errors: Record<string, {count: number; first: string}>
  tally: {sent: number; completed: number; connections: number; resumed: number; bytesSent: number; bytesReceived: number; histograms: {handshake: string}}
}

/** `fanout loadtest --json -q …` as a user runs it, its document parsed. */
export async function loadJson(args: string[], options: CliOptions = {}) {
  const run = await fanout(['loadtest', '--json', '-q', ...args], options)
  return {...run, report: (run.stdout ? parseJsonDocument(run.stdout) : null) as LoadJson}
}

/** Every request sent is accounted for: answered, failed, or still in flight at the end. */
export function expectReconciled(report: LoadJson): void {
  expect(report.summary.requests).toBe(report.summary.completed + report.summary.errors + report.summary.inFlight)
}
