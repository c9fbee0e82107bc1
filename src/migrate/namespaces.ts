import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'
import {readOnly} from './database.js'
import type {Database} from './database.js'
import {HISTORY_TABLE} from './history.js'
import {namespaceProblem} from './sql.js'

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
  const found: {name: string; where: string}[] = []
  const add = (names: string[], where: (index: number) => string) => names.forEach((name, index) => found.push({name: name.trim(), where: where(index)}))
  if (selection.names !== undefined) add(selection.names.split(','), (index) => `--namespaces item ${index + 1}`)
  if (selection.file !== undefined) {
    const lines = await readLineFile(selection.file, '--namespaces-file', 'one namespace a line')
    add(lines.map((line) => line.text), (index) => lines[index]!.where)
  }
  if (selection.pattern !== undefined) {
    const names = await firstColumn(db, '--namespace-pattern', `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 AND ${SYSTEM} ORDER BY nspname`, [selection.pattern])
    add(names, (index) => `--namespace-pattern row ${index + 1}`)
  }
  if (selection.query !== undefined) add(await firstColumn(db, '--namespaces-query', selection.query), (index) => `--namespaces-query row ${index + 1}`)
  if (!given && fallback === 'managed') {
    const names = await firstColumn(db, 'discovery', `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND c.relkind = 'r' ORDER BY n.nspname`, [historyTable])
    add(names, (index) => `schema ${index + 1} with a history table`)
  }
  const entries = found.filter(({name}) => name !== '')
  for (const {name, where} of entries) {
    const problem = namespaceProblem(name)
    if (problem) throw new UsageError(`${where}: namespace ${JSON.stringify(name)} ${problem}`)
  }
  const namespaces = [...new Set(entries.map(({name}) => name))]
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
