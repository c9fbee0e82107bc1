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
  // Repeatable and baseline files are parsed; applying them is work/i11b's history side.
  const migrations = files.filter((migration) => migration.kind === 'versioned')
  const byVersion = new Map(migrations.map((migration) => [migration.segments.join('.'), migration]))
  const applied = new Set<string>()
  let version: string | null = null
  let failed: Applied | undefined
  const drift: string[] = []
  for (const row of history) {
    const key = row.segments.join('.')
    applied.add(key)
    if (!row.success) {
      failed ??= row
      continue
    }
    version = row.version
    const file = byVersion.get(key)
    if (!file) drift.push(`V${row.version} (${row.script}) is applied but has no file in --dir`)
    else if (file.checksum !== row.checksum) drift.push(`${file.script} changed after it was applied (checksum differs)`)
  }
  const pending = migrations.filter(
    (migration) => !applied.has(migration.segments.join('.')) && (target === undefined || compareVersions(migration.segments, target) <= 0),
  )
  const latest = history.findLast((row) => row.success)
  const outOfOrder = latest ? pending.filter((migration) => compareVersions(migration.segments, latest.segments) < 0) : []
  return {version, pending, failed, drift, outOfOrder}
}
