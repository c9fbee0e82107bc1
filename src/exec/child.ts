import {spawn} from 'node:child_process'

import {Tail} from './tail.js'

/** Process groups still running: a forced exit (a second Ctrl-C) must not leave them behind. */
const running = new Set<number>()
process.on('exit', () => {
  for (const pid of running) signalGroup(pid, 'SIGKILL')
})

export interface ChildResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string[]
  stderr: string[]
}

export type ChildFailureCode = 'exit' | 'signal' | 'timeout' | 'spawn'

/** A child that did not exit 0; carries what it printed last, for the report. */
export class ChildFailed extends Error {
  constructor(
    readonly code: ChildFailureCode,
    message: string,
    readonly result: ChildResult,
  ) {
    super(message)
    this.name = 'ChildFailed'
  }
}

export interface ChildOptions {
  /** Aborting stops the child: SIGTERM to its process group, SIGKILL after `killAfterMs`. */
  signal: AbortSignal
  timeoutMs: number
  killAfterMs: number
  /** Read only during the call (spawn copies it), so one object may serve every call with its values changed between. */
  env?: NodeJS.ProcessEnv
  /** Sees every chunk as it arrives, besides the tails kept for the report. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void
}

/**
 * Runs one command and resolves with its last output lines when it exits 0; rejects with ChildFailed otherwise.
 * The child leads a process group of its own so that stopping it also stops what it started (a shell's children),
 * and the timeout lives here rather than in the engine so that a timed-out child's last stderr lines are kept.
 */
export function runChild(file: string, args: string[], options: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const stdout = new Tail()
    const stderr = new Tail()
    const child = spawn(file, args, {detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env})
    if (child.pid !== undefined) running.add(child.pid)
    let timedOut = false
    let killTimer: NodeJS.Timeout | undefined
    let closeTimer: NodeJS.Timeout | undefined
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null || killTimer) return
      signalGroup(child.pid, 'SIGTERM')
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.killAfterMs)
    }
    const timeout = options.timeoutMs > 0 ? setTimeout(() => ((timedOut = true), stop()), options.timeoutMs) : undefined
    if (options.signal.aborted) stop()
    else options.signal.addEventListener('abort', stop, {once: true})

    const {onOutput} = options
    child.stdout.on('data', (chunk: Buffer) => (stdout.push(chunk), onOutput?.('stdout', chunk)))
    child.stderr.on('data', (chunk: Buffer) => (stderr.push(chunk), onOutput?.('stderr', chunk)))
    // A grandchild outside the group can hold the pipes open after the child exits: stop waiting for them.
    child.on('exit', () => (closeTimer = setTimeout(() => (child.stdout.destroy(), child.stderr.destroy()), 2000)))
    let settled = false
    const settle = (outcome: () => void) => {
      if (settled) return
      settled = true
      if (child.pid !== undefined) running.delete(child.pid)
      clearTimeout(timeout)
      clearTimeout(killTimer)
      clearTimeout(closeTimer)
      options.signal.removeEventListener('abort', stop)
      outcome()
    }
    child.on('error', (error) => {
      const result = {exitCode: null, signal: null, timedOut, stdout: stdout.lines(), stderr: stderr.lines()}
      settle(() => reject(new ChildFailed('spawn', `could not start: ${error.message}`, result)))
    })
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      const result: ChildResult = {exitCode, signal, timedOut, stdout: stdout.lines(), stderr: stderr.lines()}
      settle(() => {
        if (timedOut) reject(new ChildFailed('timeout', `timed out after ${options.timeoutMs} ms; stopped`, result))
        else if (signal) reject(new ChildFailed('signal', `killed by ${signal}`, result))
        else if (exitCode !== 0) reject(new ChildFailed('exit', `exited with ${exitCode}`, result))
        else resolve(result)
      })
    })
  })
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // Already gone.
  }
}
