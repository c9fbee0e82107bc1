import {createHash} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {UsageError} from '../cli/errors.js'

export interface Migration {
  /** As written in the file name, with `_` read as `.`: `1.2`. */
  version: string
  /** Numeric segments, compared one by one (`1.2 < 1.10`); trailing zeros dropped, so `1.0` is `1`. */
  segments: number[]
  description: string
  /** The file name, as the history table records it. */
  script: string
  sql: string
  /** SHA-256 of the text with line endings made `\n`: a file checked out on Windows is the same migration. */
  checksum: string
  /** False for files whose first line is `-- fanout:no-transaction` (CREATE INDEX CONCURRENTLY and the like). */
  transactional: boolean
}

const NAME = /^V(\d+(?:[._]\d+)*)__(.+)\.sql$/
/**
 * Sizes of the history table's columns. Bounded, PostgreSQL gives the table no TOAST table and index: two files
 * fewer to create in every namespace, where creating files is much of a fleet's migration time.
 */
export const HISTORY_LIMITS = {version: 32, description: 160, script: 200}
const NO_TRANSACTION = /^\s*--\s*fanout:no-transaction\s*$/i

/**
 * The migrations of `dir` in version order. Anything wrong with them — an unreadable directory, a `.sql` file not
 * named `V<version>__<description>.sql`, two files of one version — is a UsageError before any namespace is touched.
 */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    throw new UsageError(`--dir: cannot read "${dir}" (${(error as NodeJS.ErrnoException).code ?? error}); give the directory of V<version>__<description>.sql files`)
  }
  const migrations: Migration[] = []
  for (const name of names.filter((name) => name.toLowerCase().endsWith('.sql')).sort()) {
    const match = NAME.exec(name)
    if (!match) {
      throw new UsageError(`--dir: "${join(dir, name)}" is not named V<version>__<description>.sql (e.g. V1__create_accounts.sql, V1.2__add_index.sql); rename it`)
    }
    for (const [part, value] of [['version', match[1]!], ['description', match[2]!]] as const) {
      if (value.length > HISTORY_LIMITS[part]) {
        throw new UsageError(`--dir: "${join(dir, name)}" has a ${part} of ${value.length} characters, over the ${HISTORY_LIMITS[part]} the history table keeps; shorten the file name`)
      }
    }
    const text = (await readMigration(join(dir, name))).replace(/^\uFEFF/, '')
    const sql = text.replaceAll('\r\n', '\n')
    migrations.push({
      version: match[1]!.replaceAll('_', '.'),
      segments: segmentsOf(match[1]!),
      description: match[2]!.replaceAll('_', ' '),
      script: name,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
      transactional: !NO_TRANSACTION.test(sql.split('\n', 1)[0]!),
    })
  }
  if (migrations.length === 0) throw new UsageError(`--dir: no V<version>__<description>.sql files in "${dir}"; check the path`)
  migrations.sort(compareMigrations)
  for (let i = 1; i < migrations.length; i++) {
    if (compareMigrations(migrations[i - 1]!, migrations[i]!) === 0) {
      throw new UsageError(`--dir: "${migrations[i - 1]!.script}" and "${migrations[i]!.script}" have the same version; give each file its own`)
    }
  }
  return migrations
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

function compareMigrations(a: Migration, b: Migration): number {
  return compareVersions(a.segments, b.segments)
}

/** `--target 1.2`: the version's segments, or a UsageError. */
export function parseVersion(input: string): number[] {
  if (!/^\d+(?:[._]\d+)*$/.test(input)) throw new UsageError(`--target expects a version like 3 or 1.2; got "${input}"`)
  return segmentsOf(input)
}

/** The migration's SQL for one namespace: `${namespace}` replaced by its name. */
export function sqlFor(migration: Migration, namespace: string): string {
  return migration.sql.replaceAll('${namespace}', namespace)
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
