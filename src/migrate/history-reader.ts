import {readOnly} from './database.js'
import type {Connection, Database} from './database.js'
import {readState, rowsOf, selectHistorySql, typedSql} from './history.js'
import type {Applied, HistoryFormat, NamespaceState} from './history.js'
import {quoteLiteral} from './sql.js'

/** Namespaces read in one query: a UNION ALL over their history tables, well under PostgreSQL's limits. */
const CHUNK = 500
/** `reread` reads in at most this many chunks at once, of at least REREAD_CHUNK namespaces. */
const REREADS = 4
const REREAD_CHUNK = 50

/**
 * Reads the histories of many namespaces for `status` and `validate`, a chunk at a time in one READ ONLY transaction
 * and two queries (which exist and have a table, then one UNION ALL over those tables) rather than a round trip per
 * namespace. A chunk is read when its first namespace is asked for; should its query fail (one unreadable table),
 * each of its namespaces is read alone, so that the error lands on the namespace it belongs to.
 */
export class HistoryReader {
  private readonly index = new Map<string, number>()
  private readonly chunks = new Map<number, Promise<Map<string, NamespaceState> | undefined>>()
  /** Namespaces read again (`reread`), each until it is asked for once. */
  private readonly again = new Map<string, Promise<Map<string, NamespaceState> | undefined>>()

  constructor(
    private readonly db: Database,
    private readonly namespaces: string[],
    private readonly format: HistoryFormat,
  ) {
    for (const [i, namespace] of namespaces.entries()) this.index.set(namespace, i)
  }

  async state(namespace: string): Promise<NamespaceState> {
    const again = this.again.get(namespace)
    if (again) {
      this.again.delete(namespace)
      return (await again)?.get(namespace) ?? this.readOne(namespace)
    }
    const chunk = Math.floor(this.index.get(namespace)! / CHUNK)
    let read = this.chunks.get(chunk)
    if (!read) {
      read = this.readChunk(this.namespaces.slice(chunk * CHUNK, (chunk + 1) * CHUNK)).catch(() => undefined)
      this.chunks.set(chunk, read)
    }
    const states = await read
    if (namespace === this.namespaces[Math.min((chunk + 1) * CHUNK, this.namespaces.length) - 1]) this.chunks.delete(chunk) // bounded memory
    return states?.get(namespace) ?? this.readOne(namespace)
  }

  /**
   * Reads these namespaces' histories anew, now, in a few chunks at once: the namespaces a migrate run put aside while
   * another run held them, which it comes back to at the end, when most are done. Read chunk by chunk as asked for,
   * each a UNION ALL over hundreds of tables the session opens for the first time, they held up the run's last
   * stretch for as long as its workers waited on each in turn.
   */
  reread(namespaces: string[]): void {
    const size = Math.min(CHUNK, Math.max(REREAD_CHUNK, Math.ceil(namespaces.length / REREADS)))
    for (let first = 0; first < namespaces.length; first += size) {
      const chunk = namespaces.slice(first, first + size)
      const read = this.readChunk(chunk).catch(() => undefined)
      for (const namespace of chunk) this.again.set(namespace, read)
    }
  }

  private readOne(namespace: string): Promise<NamespaceState> {
    return this.db.withConnection((connection) => readOnly(connection, () => readState(connection, namespace, this.format)))
  }

  private readChunk(namespaces: string[]): Promise<Map<string, NamespaceState>> {
    return this.db.withConnection((connection) => readOnly(connection, () => this.read(connection, namespaces)))
  }

  private async read(connection: Connection, namespaces: string[]): Promise<Map<string, NamespaceState>> {
    const found = await connection.query<{name: string; exists: boolean; history: boolean; typed: boolean}>(
      `SELECT name, to_regnamespace(quote_ident(name)) IS NOT NULL AS exists, to_regclass(t) IS NOT NULL AS history, ${typedSql('t')} AS typed
       FROM unnest($1::text[]) AS name, LATERAL (SELECT quote_ident(name) || '.' || quote_ident($2) AS t) AS tables`,
      [namespaces, this.format.table],
    )
    const withHistory = found.filter((row) => row.history)
    const rows = new Map<string, (Omit<Applied, 'segments'> & {installed_rank: number})[]>(withHistory.map(({name}) => [name, []]))
    if (withHistory.length > 0) {
      // An earlier fanout's table is read as it is (status and validate write nothing); migrate upgrades it.
      const union = withHistory.map(({name, typed}) => selectHistorySql(name, this.format, `${quoteLiteral(name)}::text AS namespace, `, typed)).join('\nUNION ALL\n')
      for (const row of await connection.query<Omit<Applied, 'segments'> & {namespace: string; installed_rank: number}>(union)) rows.get(row.namespace)!.push(row)
    }
    // Status reads no objects: hasObjects matters only to --baseline-on-migrate.
    return new Map(found.map((row) => [row.name, {exists: row.exists, hasHistory: row.history, history: rowsOf(rows.get(row.name) ?? []), hasObjects: false, outdated: row.history && !row.typed}]))
  }
}
