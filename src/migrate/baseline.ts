import {UsageError} from '../cli/errors.js'
import type {Database} from './database.js'
import {NamespaceFailure} from './failures.js'
import {createHistorySql, markerSql, writableState} from './history.js'
import type {Applied, HistoryFormat} from './history.js'
import {segmentsOf} from './migration-files.js'
import {lockWait, withNamespaceLock} from './namespace-lock.js'
import {quoteIdent} from './sql.js'

/** `--version 4` / `--baseline-version 1.2`: the version as the history records it (`1_2` reads `1.2`), or a UsageError. */
export function versionOf(flag: string, input: string): string {
  if (!/^\d+(?:[._]\d+)*$/.test(input)) throw new UsageError(`${flag} expects a version like 3 or 1.2; got "${input}"`)
  return input.replaceAll('_', '.')
}

export interface Baselined {
  version: string
  /** False when the namespace was already baselined at this version. */
  baselined: boolean
}

/**
 * Records `version` as the namespace's baseline, as Flyway's baseline does: a BASELINE row, so that migrations up to
 * it are taken as present (never applied there) and later ones apply. Only a namespace whose history is empty can be
 * baselined; one baselined at this version already is left as it is.
 */
export function baselineNamespace(db: Database, namespace: string, version: string, format: HistoryFormat, signal: AbortSignal, lockWaitMs: number): Promise<Baselined> {
  const failure = (message: string) => new NamespaceFailure(message, {version: null, applied: []})
  return db.withConnection((connection) =>
    withNamespaceLock(connection, namespace, lockWait(signal, lockWaitMs), async () => {
      const state = await writableState(connection, namespace, format)
      if (!state.exists) throw failure(`schema ${quoteIdent(namespace)} does not exist; baseline a namespace that holds the schema you built`)
      const [only, ...more] = state.history
      if (only && more.length === 0 && only.type === 'BASELINE' && only.version === version) return {version, baselined: false}
      if (only) {
        throw failure(`${namespace} has a history already (${state.history.length} row${state.history.length === 1 ? '' : 's'}); baseline only a namespace no migration has run in`)
      }
      const marker = markerSql(namespace, format, baselineRow(version, format))
      await connection.exec(`BEGIN;\n${createHistorySql(namespace, format)};\n${marker};\nCOMMIT;`)
      return {version, baselined: true}
    }),
  )
}

/** For the plan of a namespace --baseline-on-migrate baselines: the row it will have. */
export function baselineRow(version: string, format: HistoryFormat): Applied {
  const name = format.baselineName
  return {version, segments: segmentsOf(version), description: name, type: 'BASELINE', script: name, checksum: null, success: true}
}
