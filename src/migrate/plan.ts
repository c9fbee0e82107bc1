import type {Applied} from './history.js'
import {compareVersions} from './migration-files.js'
import type {Migration} from './migration-files.js'

/** What a namespace's history and the migration files say together. */
export interface Plan {
  /** The highest version applied successfully, or null for none. */
  version: string | null
  /** Migrations to apply, in order (up to --target). */
  pending: Migration[]
  /** A migration recorded as failed (a no-transaction one): the namespace is blocked until `migrate repair`. */
  failed: Applied | undefined
  /** Applied migrations whose file changed or is gone: one line each. */
  drift: string[]
  /** Pending migrations older than the highest applied one (a file added below it). */
  outOfOrder: Migration[]
}

export function planFor(files: Migration[], history: Applied[], target?: number[]): Plan {
  const versioned = files.filter((migration) => migration.kind === 'versioned')
  const byVersion = new Map(versioned.map((migration) => [migration.segments.join('.'), migration]))
  const recorded = new Set<string>()
  const deleted = new Set<string>()
  const repeatables = new Map<string, string | null>()
  let highest: Applied | undefined
  let baseline: number[] | undefined
  let failed: Applied | undefined
  for (const row of history) {
    if (!row.success) {
      failed ??= row
      continue
    }
    if (row.version === null) {
      repeatables.set(row.description, row.checksum) // the last one written is what the namespace has
      continue
    }
    const key = row.segments.join('.')
    recorded.add(key)
    if (row.type === 'DELETE') {
      deleted.add(key)
      continue
    }
    if (!highest || compareVersions(row.segments, highest.segments) > 0) highest = row
    if ((row.type === 'BASELINE' || row.type === 'SQL_BASELINE') && (!baseline || compareVersions(row.segments, baseline) > 0)) baseline = row.segments
  }
  const drift: string[] = []
  for (const row of history) {
    if (!row.success || row.version === null || row.type !== 'SQL' || deleted.has(row.segments.join('.'))) continue
    const file = byVersion.get(row.segments.join('.'))
    if (!file) drift.push(`V${row.version} (${row.script}) is applied but has no file in --dir`)
    else if (file.checksum !== row.checksum) drift.push(`${file.script} changed after it was applied (checksum differs)`)
  }
  const upToTarget = (migration: Migration) => target === undefined || compareVersions(migration.segments, target) <= 0
  const aboveBaseline = (migration: Migration) => baseline === undefined || compareVersions(migration.segments, baseline) > 0
  let pending = versioned.filter((migration) => !recorded.has(migration.segments.join('.')) && upToTarget(migration) && aboveBaseline(migration))
  // A namespace that starts from nothing starts from the latest B__ file instead of the versions it covers.
  const start = history.length === 0 ? files.filter((migration) => migration.kind === 'baseline' && upToTarget(migration)).at(-1) : undefined
  if (start) pending = [start, ...pending.filter((migration) => compareVersions(migration.segments, start.segments) > 0)]
  const outOfOrder = highest ? pending.filter((migration) => compareVersions(migration.segments, highest.segments) < 0) : []
  // Repeatable ones after the versioned ones, each again whenever its file changed (never drift).
  const repeat = files.filter((migration) => migration.kind === 'repeatable' && repeatables.get(migration.description) !== migration.checksum)
  return {version: highest?.version ?? null, pending: [...pending, ...repeat], failed, drift, outOfOrder}
}

/** Whether the history records `migration` as applied: its version, or (repeatable) its current checksum. */
export function isRecorded(history: Applied[], migration: Migration): boolean {
  if (migration.version !== null) return history.some((row) => row.success && row.version === migration.version)
  return history.findLast((row) => row.success && row.version === null && row.description === migration.description)?.checksum === migration.checksum
}
