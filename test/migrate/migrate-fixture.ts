import {execFile} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll} from 'vitest'

import {fanout} from '../helpers/cli.js'
import {parseJsonDocument} from '../helpers/json-schema.js'
import {hasProgram} from '../helpers/system-program.js'
import type {Backend} from './backends.js'
import type {Line} from './suite.js'

const SUBCOMMANDS = new Set(['status', 'validate', 'repair', 'baseline'])

/**
 * A test file's own database (PostgreSQL or PGlite), opened before its tests and dropped after, with what its tests
 * do: write a directory of migration files, build a schema outside fanout, and run `fanout migrate [subcommand]`.
 */
export function migrateFixture(open: () => Promise<Backend>) {
  let backend: Backend | undefined
  const dirs: string[] = []
  // Creating and dropping a database took over 30 s while a benchmark filled the server with thousands of files.
  beforeAll(async () => {
    backend = await open()
  }, 120_000)
  afterAll(async () => {
    await backend?.close()
    await Promise.all(dirs.map((dir) => rm(dir, {recursive: true, force: true})))
  }, 120_000)
  const db = () => backend!
  return {
    db,
    /** A directory holding these files (name -> SQL), removed after the tests. */
    async migrationsOf(files: Record<string, string>): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'fanout-migrations-'))
      dirs.push(dir)
      for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql)
      return dir
    },
    /** A script run as a team runs one before fanout: by psql on PostgreSQL; PGlite, which psql cannot reach, by its own client. */
    async build(sql: string): Promise<void> {
      if (db().name === 'pglite' || !hasProgram('psql', 'postgresql-client')) return db().exec(sql)
      await promisify(execFile)('psql', ['-v', 'ON_ERROR_STOP=1', '-q', db().url, '-c', sql])
    },
    /** `fanout migrate [status|validate|repair|baseline] --database … --json ARGS`, with its report's lines. */
    async migrate(args: string[]) {
      const sub = SUBCOMMANDS.has(args[0]!) ? [args[0]!] : []
      const result = await fanout(['migrate', ...sub, '--database', db().url, '--json', ...args.slice(sub.length)])
      type Report = {results: (Line & {baselined?: boolean; repairs?: string[]})[]; summary?: Record<string, number>}
      // Every --json document is checked against its schema on the way.
      const report: Report = result.stdout ? parseJsonDocument<Report>(result.stdout) : {results: []}
      return {...result, lines: report.results, summary: report.summary}
    },
  }
}
