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

/** A namespace the user listed (--namespaces, --namespaces-file) and where, for errors about it. */
export interface Listed {
  name: string
  where: string
}

/** The namespaces listed by name, read once for every database (a --namespaces-file of - is stdin, read once). */
export async function listedNamespaces(selection: Selection): Promise<Listed[]> {
  const found: Listed[] = []
  if (selection.names !== undefined) selection.names.split(',').forEach((name, index) => found.push({name: name.trim(), where: `--namespaces item ${index + 1}`}))
  if (selection.file !== undefined) {
    const lines = await readLineFile(selection.file, '--namespaces-file', 'one namespace a line')
    for (const line of lines) found.push({name: line.text, where: line.where})
  }
  return found
}

/** Whether the selection asks the database which namespaces there are (a pattern, a query, or those it manages). */
export function asksDatabase(selection: Selection, fallback?: 'managed'): boolean {
  const given = Object.values(selection).some((value) => value !== undefined)
  return selection.pattern !== undefined || selection.query !== undefined || (!given && fallback === 'managed')
}

/** Checked names, in the order given, each once; a name PostgreSQL would not take is a UsageError naming where it is. */
export function distinctNamespaces(found: Listed[]): string[] {
  const entries = found.filter(({name}) => name !== '')
  for (const {name, where} of entries) {
    const problem = namespaceProblem(name)
    if (problem) throw new UsageError(`${where}: namespace ${JSON.stringify(name)} ${problem}`)
  }
  return [...new Set(entries.map(({name}) => name))]
}

/**
 * The namespaces selected in `db`, in the order given, each once: `listed` (see listedNamespaces), then those the
 * pattern and the query find. With no selection at all, `fallback: 'managed'` takes every namespace that has a
 * fanout history table (status, validate, repair); else it is a UsageError, as is a selection that comes out empty
 * (unless `allowEmpty`: one database of several may hold none of them).
 */
export async function selectNamespaces(
  db: Database,
  selection: Selection,
  listed: Listed[],
  options: {fallback?: 'managed'; historyTable?: string; allowEmpty?: boolean} = {},
): Promise<string[]> {
  const {fallback, historyTable = HISTORY_TABLE} = options
  const given = Object.values(selection).some((value) => value !== undefined)
  const found = [...listed]
  const add = (names: string[], where: (index: number) => string) => names.forEach((name, index) => found.push({name: name.trim(), where: where(index)}))
  if (selection.pattern !== undefined) {
    const names = await firstColumn(db, '--namespace-pattern', `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 AND ${SYSTEM} ORDER BY nspname`, [selection.pattern])
    add(names, (index) => `--namespace-pattern row ${index + 1}`)
  }
  if (selection.query !== undefined) add(await firstColumn(db, '--namespaces-query', selection.query), (index) => `--namespaces-query row ${index + 1}`)
  if (!given && fallback === 'managed') {
    const names = await firstColumn(db, 'discovery', `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND c.relkind = 'r' ORDER BY n.nspname`, [historyTable])
    add(names, (index) => `schema ${index + 1} with a history table`)
  }
  const namespaces = distinctNamespaces(found)
  if (namespaces.length === 0 && !options.allowEmpty) throw emptySelection(db.name, given, fallback, historyTable)
  return namespaces
}

/** The UsageError of a selection that came out empty in `where` (a database, or all of them). */
export function emptySelection(where: string, given: boolean, fallback: 'managed' | undefined, historyTable: string): UsageError {
  return new UsageError(
    given
      ? `no namespaces selected in ${where}: the selection came out empty; check --namespaces/--namespaces-file/--namespace-pattern/--namespaces-query`
      : fallback === 'managed'
        ? `no namespaces in ${where} have a ${historyTable} table yet; run fanout migrate first, or select some with --namespaces`
        : 'no namespaces selected: give --namespaces a,b, --namespaces-file FILE, --namespace-pattern \'tenant_%\' or --namespaces-query \'SELECT …\'',
  )
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
