import {randomInt} from 'node:crypto'

const STOPPED = 'fanout: stopped before this migration'

/**
 * How a namespace whose migrations went to the server in one query stops between two of them, on fail-fast or
 * Ctrl-C. Each migration's transaction opens with a shared hold on this run's advisory key; raising the latch asks
 * for the key exclusively on a session of its own. PostgreSQL lets no new shared hold past a waiting exclusive
 * request, so from then on each namespace's next migration fails its check and the rest of its query is skipped,
 * while the migrations under way finish and commit: DDL is never cancelled midway.
 */
export class StopLatch {
  private readonly key = randomInt(2 ** 31)
  private raised = false

  /** The first statement of each batched migration's transaction. */
  readonly checkSql = `SELECT (CASE WHEN pg_try_advisory_xact_lock_shared(hashtext('fanout_stop'), ${this.key}) THEN '1' ELSE '${STOPPED}' END)::int;\n`

  /** `send` runs a statement on the latch's own session. */
  constructor(private readonly send: (sql: string) => Promise<unknown>) {}

  /** Idempotent. */
  raise(): void {
    if (this.raised) return
    this.raised = true
    // Not awaited: the lock is granted only when the migrations under way have committed, and nothing waits for that.
    this.send(`SELECT pg_advisory_lock(hashtext('fanout_stop'), ${this.key})`).catch(() => {})
  }

  /** Whether a batch ended on this check rather than on a migration's own error. */
  static stopped(error: unknown): boolean {
    return String((error as {message?: unknown})?.message).includes(STOPPED)
  }
}
