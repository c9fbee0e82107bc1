/**
 * The fix for the PostgreSQL errors a migration set moved to fanout meets first, appended to the failure line:
 * which statement it was and what to do, instead of the server's words alone.
 */
export function hintFor(error: unknown, sql: string, at: number): string {
  const {code} = error as {code?: string}
  if (code === '25001') {
    const statement = at >= 0 && at < sql.length ? `${sql.slice(at).split('\n', 1)[0]!.trim().slice(0, 60)}: ` : ''
    return `; ${statement}fanout runs a file outside a transaction by itself when it holds CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM, ALTER SYSTEM, CREATE/DROP DATABASE…; for any other such statement make "-- fanout:no-transaction" the file's first line`
  }
  if (code === '42883' || (code === '42704' && /^type /.test((error as Error).message ?? ''))) {
    return '; if it comes from an extension (uuid-ossp, pgcrypto, citext…), create the extension once in a shared schema every namespace sees (e.g. CREATE EXTENSION IF NOT EXISTS "uuid-ossp" SCHEMA public; fanout sets search_path to the namespace, then public), not in each namespace'
  }
  return ''
}
