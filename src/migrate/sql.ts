/** `tenant_1` -> `"tenant_1"`: every namespace name is quoted, so any name PostgreSQL allows works. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** A string literal for SQL sent without parameters (scripts run as one simple query). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/**
 * Why PostgreSQL would not keep `name` as the schema name given, if so: over its 63 bytes (it would cut the
 * name), or holding a control character (a NUL ends it; a newline would break the line a file:line points at).
 * Anything else works quoted, and placeholders are filled in for where they stand, so no name changes what SQL runs.
 */
export function namespaceProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name)
  if (bytes > 63) return `is ${bytes} bytes, over PostgreSQL's 63 for a name; shorten it`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character; PostgreSQL names cannot; remove it'
  return undefined
}
