import {cp, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {PGlite} from '@electric-sql/pglite'
import pg from 'pg'

import {ROOT} from '../helpers/cli.js'

/** A database the migrate tests own: a fresh PostgreSQL database, or a PGlite directory. */
export interface Backend {
  name: 'postgres' | 'pglite'
  /** What `--database` is given. */
  url: string
  /** Reads the database from the test (PGlite: only while no fanout process has it open). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  /** Several statements as one script, as a team builds a schema before fanout (same restriction on PGlite). */
  exec(sql: string): Promise<void>
  close(): Promise<void>
}

const SERVER = process.env.FANOUT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export async function postgresBackend(): Promise<Backend> {
  const name = `fanout_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client(SERVER)
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(SERVER)
  url.pathname = `/${name}`
  const pool = new pg.Pool({connectionString: url.toString(), max: 2})
  // pool.end() resolves before its clients have closed: DROP DATABASE … WITH (FORCE) may still end one of them.
  pool.on('error', () => {})
  return {
    name: 'postgres',
    url: url.toString(),
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    exec: async (sql) => void (await pool.query(sql)),
    async close() {
      await pool.end()
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    },
  }
}

export async function pgliteBackend(): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-pglite-'))
  const opened = async <T>(work: (db: PGlite) => Promise<T>): Promise<T> => {
    const db = new PGlite(dir)
    try {
      return await work(db)
    } finally {
      await db.close()
    }
  }
  return {
    name: 'pglite',
    url: `pglite://${dir}`,
    query: (sql, params) => opened(async (db) => (await db.query(sql, params)).rows as never[]),
    exec: (sql) => opened(async (db) => void (await db.exec(sql))),
    close: () => rm(dir, {recursive: true, force: true}),
  }
}

/** A copy of fixtures/migrations the test may edit. */
export async function migrationsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-migrations-'))
  await cp(join(ROOT, 'fixtures/migrations'), dir, {recursive: true})
  return dir
}

/** `prefix_001` … `prefix_NNN`, comma-separated for --namespaces. */
export function names(prefix: string, count: number): string[] {
  return Array.from({length: count}, (_, i) => `${prefix}_${String(i + 1).padStart(3, '0')}`)
}
