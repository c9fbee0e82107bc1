/** Where a namespace stood when its work ended early. */
export interface Progress {
  /** The highest version applied successfully, or null for none. */
  version: string | null
  /** Versions this run applied before it ended. */
  applied: string[]
}

/** A namespace that could not be migrated: blocked (drift, a recorded failure, no schema) or a migration failed. */
export class NamespaceFailure extends Error {
  constructor(
    message: string,
    readonly progress: Progress,
    readonly sqlstate?: string,
  ) {
    super(message)
    this.name = 'NamespaceFailure'
  }
}

/** The namespace's lock stayed with another session past --lock-wait: nothing was done to the namespace. */
export class LockTaken extends NamespaceFailure {
  override name = 'LockTaken'
}

/** Stopped between two migrations by fail-fast or Ctrl-C: what was applied stands, the rest is left for a re-run. */
export class NamespaceStopped extends NamespaceFailure {
  constructor(progress: Progress) {
    super('stopped before its next migration', progress)
    this.name = 'NamespaceStopped'
  }
}

// Serialization failures, deadlocks, lost or refused connections, an administrator's shutdown: worth another try.
const TRANSIENT = /^(40001|40P01|08...|57P01|57P02|57P03|53300)$/

/** Whether a namespace's failure may pass on retry; a SQL error in a migration will not. */
export function isTransient(error: unknown): boolean {
  const code = sqlstateOf(error)
  return code !== undefined && (TRANSIENT.test(code) || /^E(CONNRESET|CONNREFUSED|PIPE|TIMEDOUT)$/.test(code))
}

/** Whether the server refused the session before anything ran: too many connections. */
export function isRefused(error: unknown): boolean {
  return sqlstateOf(error) === '53300'
}

function sqlstateOf(error: unknown): string | undefined {
  return error instanceof NamespaceFailure ? error.sqlstate : (error as {code?: string})?.code
}

/**
 * The server says it has too much to do, not that the migration is wrong: too many connections (53300), out of
 * memory (53200), a lock not granted within lock_timeout (55P03), or a statement ended by statement_timeout
 * (57014 — the same code as a cancel, which is fanout stopping it: told apart by the server's message).
 * With --workers auto the engine then halves the limit.
 */
export function isOverload(error: unknown): boolean {
  const code = sqlstateOf(error)
  if (code === '53300' || code === '53200' || code === '55P03') return true
  return code === '57014' && /statement timeout/.test((error as Error).message)
}
