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
  const code = error instanceof NamespaceFailure ? error.sqlstate : (error as {code?: string})?.code
  return code !== undefined && (TRANSIENT.test(code) || /^E(CONNRESET|CONNREFUSED|PIPE|TIMEDOUT)$/.test(code))
}
