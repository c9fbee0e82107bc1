/** `tenant_1` -> `"tenant_1"`: every namespace name is quoted, so any name PostgreSQL allows works. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** A string literal for SQL sent without parameters (scripts run as one simple query). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
