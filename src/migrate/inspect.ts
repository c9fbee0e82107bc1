import type {Database} from './database.js'
import {NamespaceFailure} from './failures.js'
import {historyTable, markerSql, writableState} from './history.js'
import type {HistoryFormat, NamespaceState} from './history.js'
import type {HistoryReader} from './history-reader.js'
import {dropIndexes, invalidIndexes} from './invalid-indexes.js'
import type {Migration} from './migration-files.js'
import {lockWait, withNamespaceLock} from './namespace-lock.js'
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

/** One namespace's history against the files, read (with others) by `reader`; takes no lock and changes nothing. */
export async function inspectNamespace(reader: HistoryReader, namespace: string, migrations: Migration[]): Promise<NamespaceStatus> {
  return statusOf(namespace, await reader.state(namespace), migrations)
}

function statusOf(namespace: string, state: NamespaceState, migrations: Migration[]): NamespaceStatus {
  if (!state.exists) throw new NamespaceFailure(`schema ${quoteIdent(namespace)} does not exist`, {version: null, applied: []})
  const plan = planFor(migrations, state.history)
  return {
    version: plan.version,
    pending: plan.pending.map((migration) => migration.version ?? migration.script),
    ...(plan.failed ? {failedScript: plan.failed.script} : {}),
    drift: plan.drift,
  }
}

export interface Repaired {
  /** What was changed, one line each. */
  repairs: string[]
}

/**
 * Like Flyway's repair, under the namespace's lock: removes rows of failed migrations (after the user mended the
 * namespace by hand, so the migration runs again) and the INVALID indexes a failed CREATE INDEX CONCURRENTLY left;
 * takes the files' checksums for applied migrations whose files were edited on purpose; and marks applied
 * migrations whose files are gone as deleted (a DELETE row, as Flyway writes), so that migrate goes on without them.
 */
export function repairNamespace(db: Database, namespace: string, migrations: Migration[], format: HistoryFormat, signal: AbortSignal, lockWaitMs: number): Promise<Repaired> {
  return db.withConnection((connection) =>
    withNamespaceLock(connection, namespace, lockWait(signal, lockWaitMs), async () => {
      const state = await writableState(connection, namespace, format)
      if (!state.exists) throw new NamespaceFailure(`schema ${quoteIdent(namespace)} does not exist`, {version: null, applied: []})
      const table = historyTable(namespace, format)
      const byVersion = new Map(migrations.filter((migration) => migration.kind === 'versioned').map((migration) => [migration.segments.join('.'), migration]))
      const statements: string[] = []
      const repairs: string[] = []
      const failed = state.history.filter((row) => !row.success)
      if (failed.length > 0) {
        statements.push(`DELETE FROM ${table} WHERE NOT success`)
        repairs.push(...failed.map((row) => `removed the failed ${row.script}`))
        // What a failed CREATE INDEX CONCURRENTLY left: an INVALID index that IF NOT EXISTS would keep.
        const invalid = await invalidIndexes(connection, namespace)
        await dropIndexes(connection, namespace, invalid)
        repairs.push(...invalid.map((index) => `dropped the INVALID index ${index}`))
      }
      const deleted = new Set(state.history.filter((row) => row.type === 'DELETE').map((row) => row.version))
      for (const row of state.history) {
        if (!row.success || row.version === null || row.type !== 'SQL') continue
        const file = byVersion.get(row.segments.join('.'))
        if (!file && !deleted.has(row.version)) {
          statements.push(markerSql(namespace, format, {...row, type: 'DELETE'}))
          repairs.push(`marked V${row.version} (${row.script}) as deleted: its file is gone, migrate goes on without it`)
        } else if (file && file.checksum !== row.checksum) {
          const checksum = format.flyway ? `${quoteLiteral(file.checksum)}::integer` : quoteLiteral(file.checksum)
          statements.push(`UPDATE ${table} SET checksum = ${checksum}, script = ${quoteLiteral(file.script)} WHERE version = ${quoteLiteral(row.version)} AND type = 'SQL'`)
          repairs.push(`took the new checksum of ${file.script}`)
        }
      }
      if (statements.length > 0) await connection.exec(`BEGIN;\n${statements.join(';\n')};\nCOMMIT;`)
      return {repairs}
    }),
  )
}
