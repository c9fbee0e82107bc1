/** The exit codes every fanout command shares (README "Exit codes"). */
export const ExitCode = {
  /** Every target succeeded. */
  ok: 0,
  /** Some targets failed (checks failed, migrations failed, thresholds breached), or were cancelled by fail-fast. */
  failed: 1,
  /** Usage or input error: a bad flag, an unreadable or invalid file. Nothing ran. */
  usage: 2,
  /** A bug in fanout. */
  internal: 3,
  /** Interrupted by Ctrl-C (SIGINT) or SIGTERM, after the partial report. */
  interrupted: 130,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
