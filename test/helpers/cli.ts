import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

export interface CliOptions {
  input?: string
  /** Send SIGINT (Ctrl-C) once this resolves, or once stdout so far satisfies it. */
  interruptWhen?: Promise<unknown> | ((stdout: string) => boolean)
  cwd?: string
  env?: NodeJS.ProcessEnv
}

/** Runs the built `fanout` binary as a user would. */
export function fanout(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? ROOT, env: {...process.env, ...options.env}})
    let stdout = ''
    let stderr = ''
    const {interruptWhen} = options
    let interrupted = false
    const interrupt = () => {
      if (!interrupted) child.kill('SIGINT')
      interrupted = true
    }
    if (interruptWhen instanceof Promise) void interruptWhen.then(interrupt)
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      if (typeof interruptWhen === 'function' && interruptWhen(stdout)) interrupt()
    })
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr, ms: performance.now() - started}))
    child.stdin.end(options.input ?? '')
  })
}

/** Resolves once `check` returns true, polling every 20 ms. */
export async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20))
}
