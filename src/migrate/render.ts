import {formatDuration} from '../cli/values.js'
import type {Envelope} from '../report/envelope.js'
import {renderTable} from '../report/table.js'
import {workersNote} from '../report/workers.js'
import type {Baselined} from './baseline.js'
import type {DatabaseSummary} from './databases.js'
import type {NamespaceStatus, Repaired} from './inspect.js'
import type {Migrated} from './migrate-namespace.js'
import type {NamespaceResult} from './run-namespaces.js'

/** More namespaces than this and reports list only the exceptions (all of them with --all). */
export const LIST_LIMIT = 50

type Report<V extends object> = Envelope<NamespaceResult<V>>

export function renderMigrate(report: Report<Migrated>, options: {dryRun: boolean; all: boolean}): string {
  const shown = listed(report, options.all, (result) => result.status !== 'succeeded' || (options.dryRun && (result.pending?.length ?? 0) > 0))
  const rows = shown.map((result) => [
    result.target,
    result.status,
    result.version ?? '-',
    options.dryRun ? (result.pending ?? []).join(' ') || '-' : String(result.applied?.length ?? 0),
    formatDuration(result.durationMs),
    result.error?.message ?? '',
  ])
  const head = ['namespace', 'status', 'version', options.dryRun ? 'would apply' : 'applied', 'time', 'error']
  const applied = report.results.reduce((sum, result) => sum + ((options.dryRun ? result.pending : result.applied) ?? []).length, 0)
  const verb = options.dryRun ? 'would apply' : 'applied'
  return join(rows.length > 0 ? renderTable(head, rows) : '', `${summaryLine(report)} · ${applied} migration${applied === 1 ? '' : 's'} ${verb}${workersNote(report)}`, hidden(report, shown))
}

/** A run over several databases: each database's figures first, before any namespace. */
export function renderDatabases(databases: DatabaseSummary[]): string {
  const rows = databases.map((summary) => [
    summary.database,
    summary.url,
    String(summary.total),
    String(summary.succeeded),
    String(summary.failed),
    String(summary.cancelled),
    summary.error?.message ?? '',
  ])
  return renderTable(['database', 'url', 'namespaces', 'succeeded', 'failed', 'cancelled', 'error'], rows)
}

/** A table of namespaces, or for a fleet the count at each version and then the exceptions. */
export function renderStatus(report: Report<NamespaceStatus>, options: {all: boolean}): string {
  const exceptional = (result: NamespaceResult<NamespaceStatus>) => result.status !== 'succeeded' || stateOf(result) !== 'up to date'
  const lines: string[] = []
  if (report.results.length > LIST_LIMIT && !options.all) {
    const byVersion = new Map<string, number>()
    for (const result of report.results) {
      if (result.status === 'succeeded') byVersion.set(result.version ?? '-', (byVersion.get(result.version ?? '-') ?? 0) + 1)
    }
    lines.push(renderTable(['version', 'namespaces'], [...byVersion].map(([version, count]) => [version, String(count)])))
  }
  const shown = listed(report, options.all, exceptional)
  if (shown.length > 0) {
    lines.push(renderTable(['namespace', 'version', 'pending', 'state'], shown.map((result) => [result.target, result.version ?? '-', String(result.pending?.length ?? '-'), stateOf(result)])))
  }
  return join(...lines, summaryLine(report), hidden(report, shown))
}

/** Each kind of drift once, with the namespaces it is found in: a fleet edited one file, not a thousand. */
export function renderValidate(report: Report<NamespaceStatus>): string {
  const groups = new Map<string, string[]>()
  let bad = 0
  for (const result of report.results) {
    const found = result.error
      ? [result.error.message]
      : [...(result.drift ?? []), ...(result.failedScript ? [`${result.failedScript} failed earlier and blocks migrate (fanout migrate repair)`] : [])]
    if (found.length > 0) bad++
    for (const line of found) groups.set(line, [...(groups.get(line) ?? []), result.target])
  }
  const lines = [...groups].map(([line, targets]) => {
    const shown = targets.slice(0, 10).join(', ')
    return `${line}: ${targets.length} namespace${targets.length === 1 ? '' : 's'} (${shown}${targets.length > 10 ? ', …' : ''})`
  })
  return join(...lines, `validate: ${report.results.length} namespaces, ${bad === 0 ? 'no drift' : `${bad} with drift or unreadable (--json lists each)`}`)
}

export function renderRepair(report: Report<Repaired>): string {
  const lines = report.results.flatMap((result) => [
    ...(result.repairs ?? []).map((line) => `${result.target}: ${line}`),
    ...(result.error ? [`${result.target}: ${result.error.message}`] : []),
  ])
  const repaired = report.results.filter((result) => (result.repairs?.length ?? 0) > 0).length
  return join(...lines, `repair: ${report.results.length} namespaces, ${repaired} repaired`)
}

export function renderBaseline(report: Report<Baselined>): string {
  const shown = listed(report, false, (result) => result.status !== 'succeeded')
  const lines = shown.map((result) =>
    result.error ? `${result.target}: ${result.error.message}` : `${result.target}: ${result.baselined ? 'baselined at' : 'already baselined at'} ${result.version}`,
  )
  const baselined = report.results.filter((result) => result.baselined).length
  return join(...lines, `baseline: ${report.results.length} namespaces, ${baselined} baselined`, hidden(report, shown))
}

function stateOf(result: NamespaceResult<NamespaceStatus>): string {
  if (result.error) return result.error.message
  if (result.failedScript) return `blocked: ${result.failedScript} failed (fanout migrate repair)`
  if (result.drift?.length) return `drift: ${result.drift.join('; ')}`
  return result.pending?.length ? `${result.pending.length} pending` : 'up to date'
}

/** Every namespace when there are few (or --all); else only those `exceptional` says, at most LIST_LIMIT. */
function listed<R extends NamespaceResult<object>>(report: Envelope<R>, all: boolean, exceptional: (result: R) => boolean): R[] {
  if (all || report.results.length <= LIST_LIMIT) return report.results
  return report.results.filter(exceptional).slice(0, LIST_LIMIT)
}

function hidden(report: Envelope<NamespaceResult<object>>, shown: unknown[]): string {
  const rest = report.results.length - shown.length
  return rest > 0 && shown.length > 0 ? `(${rest} more not listed: --all lists every namespace, --json gives all)` : ''
}

function summaryLine(report: Envelope<NamespaceResult<object>>): string {
  const {total, succeeded, failed, cancelled, durationMs} = report.summary
  const parts = [`${succeeded} succeeded`]
  if (failed) parts.push(`${failed} failed`)
  if (cancelled) parts.push(`${cancelled} cancelled`)
  return `${report.command}: ${total} namespace${total === 1 ? '' : 's'} in ${formatDuration(durationMs)} — ${parts.join(', ')}${report.interrupted ? ' (interrupted)' : ''}`
}

function join(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('\n')
}
