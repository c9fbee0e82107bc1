import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'
import {readOnly} from './database.js'
import type {Database} from './database.js'
import {HISTORY_TABLE} from './history.js'

export interface Selection {
  /** `--namespaces a,b,c` */
  names?: string
  /** `--namespaces-file FILE`: one a line; blank lines and `#` comments skipped. */
  file?: string
  /** `--namespace-pattern 'tenant_%'`: LIKE over the database's schemas. */
  pattern?: string
  /** `--namespaces-query 'SELECT …'`: the first column of each row. */
  query?: string
}

const SYSTEM = "nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"

/**
 * The namespaces selected, in the order given, each once. With no selection at all, `fallback: 'managed'` takes
 * every namespace that has a fanout history table (status, validate, repair); else it is a UsageError, as is a
 * selection that comes out empty.
 */
export async function selectNamespaces(db: Database, selection: Selection, fallback?: 'managed', historyTable = HISTORY_TABLE): Promise<string[]> {
  const given = Object.values(selection).some((value) => value !== undefined)
  const found: string[] = []
  if (selection.names !== undefined) found.push(...selection.names.split(','))
  if (selection.file !== undefined) found.push(...(await readLineFile(selection.file, '--namespaces-file', 'one namespace a line')).map((line) => line.text))
  if (selection.pattern !== undefined) {
    found.push(...(await firstColumn(db, '--namespace-pattern', `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 AND ${SYSTEM} ORDER BY nspname`, [selection.pattern])))
  }
  if (selection.query !== undefined) found.push(...(await firstColumn(db, '--namespaces-query', selection.query)))
  if (!given && fallback === 'managed') {
    found.push(...(await firstColumn(db, 'discovery', `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND c.relkind = 'r' ORDER BY n.nspname`, [historyTable])))
  }
  const namespaces = [...new Set(found.map((name) => name.trim()).filter((name) => name !== ''))]
  for (const name of namespaces) {
    if (Buffer.byteLength(name) > 63) throw new UsageError(`namespace "${name}" is longer than PostgreSQL's 63 bytes; shorten it`)
  }
  if (namespaces.length === 0) {
    throw new UsageError(
      given
        ? `no namespaces selected in ${db.name}: the selection came out empty; check --namespaces/--namespaces-file/--namespace-pattern/--namespaces-query`
        : fallback === 'managed'
          ? `no namespaces in ${db.name} have a ${historyTable} table yet; run fanout migrate first, or select some with --namespaces`
          : 'no namespaces selected: give --namespaces a,b, --namespaces-file FILE, --namespace-pattern \'tenant_%\' or --namespaces-query \'SELECT …\'',
    )
  }
  return namespaces
}

async function firstColumn(db: Database, flag: string, sql: string, params?: unknown[]): Promise<string[]> {
  try {
    return await db.withConnection((connection) =>
      readOnly(connection, async () => {
        const rows = await connection.query(sql, params)
        return rows.map((row) => String(Object.values(row)[0]))
      }),
    )
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message} in ${db.name}; fix the query`)
  }
}
