import type {Envelope} from '../report/envelope.js'
import {detail} from './render.js'
import type {HealthResult} from './result.js'

const SHOWN = {failed: 'UNHEALTHY', cancelled: 'cancelled', succeeded: 'healthy'} as const

/** Lines for the checks whose status changed since the previous round: what `--watch` prints outside a terminal. */
export function changes(previous: Envelope<HealthResult>, current: Envelope<HealthResult>, at = new Date()): string[] {
  const before = new Map(previous.results.map((r) => [`${r.group ?? ''}\u0000${r.name}`, r.status]))
  const lines: string[] = []
  for (const r of current.results) {
    const was = before.get(`${r.group ?? ''}\u0000${r.name}`)
    if (was === undefined || was === r.status) continue
    const why = r.status === 'succeeded' ? '' : ` (${detail(r).replaceAll('\n', '; ')})`
    lines.push(`${at.toISOString()} ${r.name}: ${SHOWN[was]} -> ${SHOWN[r.status]}${why}`)
  }
  return lines
}
