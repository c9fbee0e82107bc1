/**
 * Bad input: a flag value, a file, an empty selection. Its message is one line that names the input and the fix;
 * the command prints it and exits 2 before any target is touched.
 */
export class UsageError extends Error {
  /** The message as written: oclif rewrites `message` of errors thrown while it parses a flag. */
  readonly line: string
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
    this.line = message
  }
}

/** The reason a run's signal carries when the user pressed Ctrl-C (or the process got SIGTERM). */
export class InterruptedError extends Error {
  readonly code = 'interrupted'
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`)
    this.name = 'InterruptedError'
  }
}
