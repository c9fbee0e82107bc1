import {basename} from 'node:path'

import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'
import type {ResultStatus} from '../report/envelope.js'
import {maskUrl} from '../report/mask.js'
import {Unreachable, checkDatabaseUrl, isPostgresUrl, openDatabase} from './database.js'
import type {Database} from './database.js'

/** One database of a run: how reports name it, and the open database or why it could not be opened. */
export interface FleetDatabase {
  /** Short and stable, in results as `label/namespace`: the database's name, with host:port where two share it. */
  label: string
  /** The URL without its password (`user:***@`), or the PGlite location: what the shards hash and reports show. */
  url: string
  db?: Database
  /** Why it could not be opened: its namespaces fail with this, the other databases go on. */
  unreachable?: {code: string; message: string}
}

/**
 * The databases given: each --database, then each line of --databases-file (- for stdin), every URL checked before
 * any is opened, each database once (the same URL twice, or with another password, is one database). None given is
 * undefined: the embedded PGlite.
 */
export async function databaseUrls(urls: string[] | string | undefined, file: string | undefined): Promise<string[] | undefined> {
  // oclif hands a repeatable flag's value from its environment variable (FANOUT_DATABASE) as one string.
  const given = [urls ?? []].flat().map((url) => ({url, where: '--database'}))
  if (file !== undefined) {
    for (const line of await readLineFile(file, '--databases-file', 'one database URL a line')) given.push({url: line.text, where: line.where})
  }
  if (given.length === 0) return undefined
  const seen = new Set<string>()
  return given.flatMap(({url, where}) => {
    try {
      checkDatabaseUrl(url)
    } catch (error) {
      // The line of the file it came from, rather than the flag it stands for.
      throw where === '--database' ? error : new UsageError(`${where}: ${(error as UsageError).line.replace(/^--database:? /, '')}`)
    }
    const shown = maskUrl(url)
    if (seen.has(shown)) return []
    seen.add(shown)
    return [url]
  })
}

/**
 * Opens every database at once, each with a pool of `sessions`. With several, one that cannot be reached is
 * recorded (its namespaces then fail) rather than thrown; a single one still stops the run before it starts.
 */
export async function openFleet(urls: (string | undefined)[], sessions: number): Promise<FleetDatabase[]> {
  const labels = labelsOf(urls)
  return Promise.all(
    urls.map(async (url, index) => {
      const entry = {label: labels[index]!, url: url === undefined ? 'pglite://.fanout/pglite' : maskUrl(url)}
      try {
        return {...entry, db: await openDatabase(url, sessions)}
      } catch (error) {
        if (urls.length === 1 || !(error instanceof Unreachable)) throw error
        return {...entry, unreachable: {code: error.code, message: error.line.replace(/^--database: /, '')}}
      }
    }),
  )
}

/**
 * A label for each database: its name (postgres://…/app is app, pglite://data/a is a, pglite://memory is memory);
 * where two share one, host:port/name (or the PGlite path); where those are alike too (other users), a #2, #3….
 */
export function labelsOf(urls: (string | undefined)[]): string[] {
  const names = urls.map((url) => nameOf(url))
  const labels = urls.map((url, index) => (names.filter((name) => name === names[index]).length > 1 ? placeOf(url) : names[index]!))
  const counts = new Map<string, number>()
  return labels.map((label) => {
    const seen = (counts.get(label) ?? 0) + 1
    counts.set(label, seen)
    return labels.filter((other) => other === label).length > 1 && seen > 1 ? `${label}#${seen}` : label
  })
}

function nameOf(url: string | undefined): string {
  if (url === undefined) return 'pglite'
  if (!isPostgresUrl(url)) return basename(url.slice('pglite://'.length)) || 'pglite'
  const parsed = new URL(url)
  // libpq's default database is the user's name.
  return decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres'
}

function placeOf(url: string | undefined): string {
  if (url === undefined || !isPostgresUrl(url)) return url === undefined ? 'pglite' : url.slice('pglite://'.length)
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port || '5432'}/${nameOf(url)}`
}

/** One database's line in a report over several: where it is, and how its namespaces came out. */
export interface DatabaseSummary {
  database: string
  url: string
  total: number
  succeeded: number
  failed: number
  cancelled: number
  /** Why it could not be reached (its namespaces failed with it). */
  error?: {code: string; message: string}
}

/**
 * Each database's figures, in the order given, counted from the results (which name their `database`): those of a
 * run, or (fanout merge) those of the shards' results merged, the databases as any shard's report lists them.
 */
export function summariseDatabases(databases: Pick<DatabaseSummary, 'database' | 'url' | 'error'>[], results: readonly {database?: string; status: ResultStatus}[]): DatabaseSummary[] {
  const summaries = new Map<string, DatabaseSummary>(
    databases.map(({database, url, error}) => [database, {database, url, total: 0, succeeded: 0, failed: 0, cancelled: 0, ...(error ? {error} : {})}]),
  )
  for (const result of results) {
    const summary = summaries.get(result.database!)
    if (!summary) continue
    summary.total++
    summary[result.status]++
  }
  return [...summaries.values()]
}

/** The report with `databases` after its summary, where a reader looks before the results. */
export function withDatabases<D extends {results: unknown}>(report: D, databases: DatabaseSummary[]): D & {databases: DatabaseSummary[]} {
  const {results, ...rest} = report
  return {...rest, databases, results} as D & {databases: DatabaseSummary[]}
}
