import type {Database} from './database.js'
import {NamespaceFailure} from './failures.js'
import {historyTable, readState} from './history.js'
import type {Migration} from './migration-files.js'
import {withNamespaceLock} from './namespace-lock.js'
import {planFor} from './plan.js'
import {quoteIdent, quoteLiteral} from './sql.js'

/** A namespace as `migrate status` and `migrate validate` see it. */
export interface NamespaceStatus {
  version: string | null
  /** Versions not applied yet: the same field, and shape, as in `migrate`'s report. */
  pending: string[]
  /** The script of a migration recorded as failed: the namespace is blocked until `migrate repair`. */
  failedScript?: string
  drift: string[]
}

/** Reads one namespace's history against the files; takes no lock and changes nothing. */
export function inspectNamespace(db: Database, namespace: string, migrations: Migration[]): Promise<NamespaceStatus> {
  return db.withConnection(async (connection) => {
    const state = await readState(connection, namespace)
    if (!state.exists) throw new NamespaceFailure(`schema ${quoteIdent(namespace)} does not exist`, {version: null, applied: []})
    const plan = planFor(migrations, state.history)
    return {
      version: plan.version,
      pending: plan.pending.map((migration) => migration.version),
      ...(plan.failed ? {failedScript: plan.failed.script} : {}),
      drift: plan.drift,
    }
  })
}

export interface Repaired {
  /** What was changed, one line each. */
  repairs: string[]
  /** Drift repair cannot mend (an applied migration whose file is gone). */
  drift: string[]
}

/**
 * Like Flyway's repair, under the namespace's lock: removes rows of failed migrations (after the user mended the
 * namespace by hand, so the migration runs again) and takes the files' checksums for applied migrations whose files
 * were edited on purpose.
 */
export function repairNamespace(db: Database, namespace: string, migrations: Migration[]): Promise<Repaired> {
  return db.withConnection((connection) =>
    withNamespaceLock(connection, namespace, async () => {
      const state = await readState(connection, namespace)
      const byVersion = new Map(migrations.map((migration) => [migration.segments.join('.'), migration]))
      const statements: string[] = []
      const repairs: string[] = []
      const drift: string[] = []
      for (const row of state.history) {
        const file = byVersion.get(row.segments.join('.'))
        if (!row.success) {
          statements.push(`DELETE FROM ${historyTable(namespace)} WHERE version = ${quoteLiteral(row.version)} AND NOT success`)
          repairs.push(`removed the failed ${row.script}`)
        } else if (!file) {
          drift.push(`V${row.version} (${row.script}) is applied but has no file in --dir`)
        } else if (file.checksum !== row.checksum) {
          statements.push(`UPDATE ${historyTable(namespace)} SET checksum = ${quoteLiteral(file.checksum)}, script = ${quoteLiteral(file.script)} WHERE version = ${quoteLiteral(row.version)}`)
          repairs.push(`took the new checksum of ${file.script}`)
        }
      }
      if (statements.length > 0) await connection.exec(`BEGIN;\n${statements.join(';\n')};\nCOMMIT;`)
      return {repairs, drift}
    }),
  )
}
