import {createHash} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'

import {UsageError} from '../cli/errors.js'
import {BUILT_IN, markPlaceholders, render, sourceOffset, templateOf} from './placeholders.js'
import type {SqlTemplate, Values} from './placeholders.js'
import {lineAt} from '../cli/line-at.js'
import {loadParser, splitSql, SqlSyntaxError} from './sql-split.js'
import {cannotRunInTransaction, transactionControl} from './statement-rules.js'

/**
 * Flyway's kinds: `V` versioned (applied once, in version order), `R` repeatable (no version; applied after the
 * versioned ones, again whenever its checksum changes), `B` baseline (a version's whole schema in one file, for
 * namespaces that start from nothing).
 */
export type MigrationKind = 'versioned' | 'repeatable' | 'baseline'

export interface Migration {
  kind: MigrationKind
  /** As written in the file name, with `_` read as `.`: `1.2`. Null for a repeatable migration. */
  version: string | null
  /** Numeric segments, compared one by one (`1.2 < 1.10`); trailing zeros dropped, so `1.0` is `1`. Empty for a repeatable. */
  segments: number[]
  description: string
  /** The path under --dir with `/` separators (the file name for a file at the top), as the history table records it. */
  script: string
  /** The path to the file, for messages (`dir/sub/V1__a.sql:4`). */
  file: string
  sql: string
  /** SHA-256 of the text with line endings made `\n`: a file checked out on Windows is the same migration. */
  checksum: string
  /**
   * False for files whose first line is `-- fanout:no-transaction`, and for files holding a statement PostgreSQL
   * runs only outside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM…): they run statement by statement.
   */
  transactional: boolean
  /** Its top-level statements, as PostgreSQL's parser splits them (none when the SQL was not read). */
  statements: MigrationStatement[]
  /** The text with its placeholders located and classified; undefined when only names and checksums were read. */
  template: SqlTemplate | undefined
  /** The placeholders' values that are the same in every namespace (given, and Flyway's built-ins). */
  values: Values
}

export interface MigrationStatement {
  start: number
  end: number
  line: number
  /** The data of a `COPY … FROM stdin`, as offsets of the text. */
  copyData?: {start: number; end: number}
  /** Why it cannot run in a transaction (`CREATE INDEX CONCURRENTLY`), if so. */
  outside?: string
}

/** One statement of a migration as sent to one namespace. */
export interface StatementSql {
  sql: string
  line: number
  /** Where it starts in sqlFor()'s text, to read an error's position against the whole file. */
  offset: number
  /** The rows a `COPY … FROM stdin` reads. */
  copy?: string
}

const VERSIONED = /^([VB])(\d+(?:[._]\d+)*)__(.+)\.sql$/
const REPEATABLE = /^R__(.+)\.sql$/
const UNDO = /^U\d+(?:[._]\d+)*__.+\.sql$/
const NAMING = 'V<version>__<description>.sql, R__<description>.sql or B<version>__<description>.sql'
/**
 * Sizes of the history table's columns. Bounded, PostgreSQL gives the table no TOAST table and index: two files
 * fewer to create in every namespace, where creating files is much of a fleet's migration time.
 */
export const HISTORY_LIMITS = {version: 32, description: 160, script: 200}
const NO_TRANSACTION = /^\s*--\s*fanout:no-transaction\s*$/i

/**
 * The migrations under `dir` (its subfolders too, as Flyway scans them): versioned and baseline ones in version
 * order, then repeatable ones by description. Anything wrong with them — an unreadable directory, a `.sql` file or
 * folder not named as Flyway names migrations, an undo file, two files of one version — is a UsageError before any
 * namespace is touched. Files of other extensions are ignored. With `run` (for a command that runs them) the SQL is
 * read too: split by PostgreSQL's parser, placeholders checked against `run.placeholders`, transaction rules
 * applied; without, only names and checksums (status, validate, repair: the parser costs ~0.3 s to load).
 */
export async function loadMigrations(dir: string, run?: {placeholders: Values}): Promise<Migration[]> {
  const migrations: Migration[] = []
  const placeholders = run?.placeholders ?? {}
  const known = new Set([...BUILT_IN, ...Object.keys(placeholders)])
  // Flyway's format, in UTC: one value for the whole run.
  const timestamp = new Date().toISOString().slice(0, 19).replace('T', ' ')
  if (run) await loadParser()
  for (const path of await sqlFiles(dir)) {
    const name = path.slice(path.lastIndexOf('/') + 1)
    const file = join(dir, path)
    const naming = namingOf(name, file)
    for (const part of ['version', 'description', 'script'] as const) {
      const value = part === 'script' ? path : naming[part]
      if (value !== null && value.length > HISTORY_LIMITS[part]) {
        throw new UsageError(`--dir: "${file}" has a ${part} of ${value.length} characters, over the ${HISTORY_LIMITS[part]} the history table keeps; shorten the ${part === 'script' ? 'path' : 'file name'}`)
      }
    }
    const text = (await readMigration(file)).replace(/^\uFEFF/, '')
    const sql = text.replaceAll('\r\n', '\n')
    const {statements, template} = run ? readSql(file, sql, known) : {statements: [], template: undefined}
    const marked = NO_TRANSACTION.test(sql.split('\n', 1)[0]!)
    const transactional = !marked && statements.every((statement) => statement.outside === undefined)
    migrations.push({
      kind: naming.kind,
      version: naming.version?.replaceAll('_', '.') ?? null,
      segments: naming.version === null ? [] : segmentsOf(naming.version),
      description: naming.description.replaceAll('_', ' '),
      script: path,
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
      transactional,
      statements: statements.map(({control: _, ...statement}) => statement),
      template,
      values: {...placeholders, 'flyway:filename': name, 'flyway:timestamp': timestamp},
    })
    const control = transactional && statements.find((statement) => statement.control)
    if (control) {
      throw new UsageError(
        `${file}:${control.line}: ${control.control} in a migration that runs in a transaction would commit or undo part of it behind fanout's back (fanout commits each migration with its history row); remove it, or make "-- fanout:no-transaction" the file's first line to run its statements one by one`,
      )
    }
  }
  if (migrations.length === 0) throw new UsageError(`--dir: no ${NAMING} files in "${dir}"; check the path`)
  migrations.sort(compareMigrations)
  for (let i = 1; i < migrations.length; i++) {
    const [a, b] = [migrations[i - 1]!, migrations[i]!]
    if (a.kind === b.kind && compareMigrations(a, b) === 0) {
      const same = a.kind === 'repeatable' ? 'description' : 'version'
      throw new UsageError(`--dir: "${a.script}" and "${b.script}" have the same ${same}; give each file its own`)
    }
  }
  return migrations
}

/** The file split into statements by PostgreSQL's parser, each with what it means for transactions. */
function readSql(file: string, sql: string, known: ReadonlySet<string>) {
  const {marked, found} = markPlaceholders(sql)
  let split
  try {
    split = splitSql(marked)
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error
    throw new UsageError(`${file}:${lineAt(sql, error.offset)}: ${error.message} (PostgreSQL's parser); fix the SQL`)
  }
  const statements = split.map(({start, end, line, copyData, tree}) => ({start, end, line, copyData, outside: cannotRunInTransaction(tree), control: transactionControl(tree)}))
  return {statements, template: templateOf(file, sql, marked, split, found, known)}
}

/** Every `.sql` path under `dir`, relative to it with `/` separators, sorted; a folder named like a migration is refused. */
async function sqlFiles(dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, {recursive: true, withFileTypes: true})
  } catch (error) {
    throw new UsageError(`--dir: cannot read "${dir}" (${(error as NodeJS.ErrnoException).code ?? error}); give the directory of ${NAMING} files`)
  }
  const paths: string[] = []
  for (const entry of entries) {
    if (!entry.name.toLowerCase().endsWith('.sql')) continue
    const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/')
    if (entry.isDirectory()) throw new UsageError(`--dir: "${join(dir, path)}" is a directory named like a migration file; rename it (a migration is a file)`)
    if (entry.isFile() || entry.isSymbolicLink()) paths.push(path)
  }
  return paths.sort()
}

function namingOf(name: string, file: string): {kind: MigrationKind; version: string | null; description: string} {
  const versioned = VERSIONED.exec(name)
  if (versioned) return {kind: versioned[1] === 'B' ? 'baseline' : 'versioned', version: versioned[2]!, description: versioned[3]!}
  const repeatable = REPEATABLE.exec(name)
  if (repeatable) return {kind: 'repeatable', version: null, description: repeatable[1]!}
  if (UNDO.test(name)) {
    throw new UsageError(`--dir: "${file}" is an undo migration; fanout has no undo: to reverse a change, write a new forward migration (a higher V<version>) that does it, and remove this file`)
  }
  throw new UsageError(`--dir: "${file}" is not named ${NAMING} (e.g. V1__create_accounts.sql, V1.2__add_index.sql, R__views.sql); rename it`)
}

export function segmentsOf(version: string): number[] {
  const segments = version.split(/[._]/).map(Number)
  while (segments.length > 1 && segments.at(-1) === 0) segments.pop()
  return segments
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0)
    if (difference !== 0) return difference
  }
  return 0
}

/** Versioned and baseline ones by version (a baseline before the versioned file of its version), then repeatables by description. */
function compareMigrations(a: Migration, b: Migration): number {
  if ((a.kind === 'repeatable') !== (b.kind === 'repeatable')) return a.kind === 'repeatable' ? 1 : -1
  if (a.kind === 'repeatable') return a.description < b.description ? -1 : a.description > b.description ? 1 : 0
  return compareVersions(a.segments, b.segments) || (a.kind === b.kind ? 0 : a.kind === 'baseline' ? -1 : 1)
}

/** `--target 1.2`: the version's segments, or a UsageError. */
export function parseVersion(input: string): number[] {
  if (!/^\d+(?:[._]\d+)*$/.test(input)) throw new UsageError(`--target expects a version like 3 or 1.2; got "${input}"`)
  return segmentsOf(input)
}

/** Adds what only the database knows: `${flyway:user}` and `${flyway:database}`. */
export function withSession(migrations: Migration[], session: {user: string; database: string}): Migration[] {
  return migrations.map((migration) => ({...migration, values: {...migration.values, 'flyway:user': session.user, 'flyway:database': session.database}}))
}

function valuesFor(migration: Migration, namespace: string): Values {
  return {...migration.values, namespace, 'flyway:defaultSchema': namespace}
}

function readTemplate(migration: Migration): SqlTemplate {
  if (!migration.template) throw new Error(`${migration.file} was read without its SQL (loadMigrations without run)`)
  return migration.template
}

/** The migration's SQL for one namespace, each placeholder filled in safely for where it stands. */
export function sqlFor(migration: Migration, namespace: string): string {
  const template = readTemplate(migration)
  return template.slots.length === 0 ? migration.sql : render(template, valuesFor(migration, namespace))
}

/** The 1-based line of the migration's file that offset `at` of sqlFor()'s text for `namespace` comes from. */
export function sourceLine(migration: Migration, namespace: string, at: number): number {
  const template = readTemplate(migration)
  return lineAt(template.text, template.slots.length === 0 ? at : sourceOffset(template, valuesFor(migration, namespace), at))
}

/** The migration's statements for one namespace, one by one (a migration run outside a transaction). */
export function statementsFor(migration: Migration, namespace: string): StatementSql[] {
  const template = readTemplate(migration)
  const values = valuesFor(migration, namespace)
  const statements: StatementSql[] = []
  let at = 0
  let offset = 0
  for (const {start, end, line, copyData} of migration.statements) {
    offset += render(template, values, at, start).length
    const sql = render(template, values, start, end)
    statements.push({sql, line, offset, ...(copyData && {copy: render(template, values, copyData.start, copyData.end)})})
    at = start
  }
  return statements
}

/** A migration file's text; a directory or an unreadable file of that name is bad input, named. */
async function readMigration(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new UsageError(`--dir: cannot read "${path}" (${reason === 'EISDIR' ? 'a directory' : reason}); give each migration as a file`)
  }
}
