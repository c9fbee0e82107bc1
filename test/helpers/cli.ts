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
  /** Most open file descriptors the process may have (ulimit -n). */
  fileLimit?: number
}

/** Runs the built `fanout` binary as a user would. */
export function fanout(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, BIN, ...args]
    const [file, ...rest] = options.fileLimit === undefined ? argv : ['sh', '-c', `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, ...argv]
    const child = spawn(file!, rest, {cwd: options.cwd ?? ROOT, env: {...process.env, ...options.env}})
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

/** Polls `read` every 20 ms until it gives something other than undefined or false, and resolves with it. */
export async function until<T>(read: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = performance.now() + ms
  for (;;) {
    const value = await read()
    if (value !== undefined && value !== false) return value
    if (performance.now() > deadline) throw new Error(`gave up waiting after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Runs the built `fanout` under a pseudo-terminal of 120 columns (util-linux `script`), as a user at a terminal
 * would: stdout and stderr both reach the terminal, so `stdout` holds them together. `input` is typed into it.
 */
export function fanoutInTerminal(args: string[], options: {env?: NodeJS.ProcessEnv; input?: string} = {}): Promise<CliRun> {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`
  const line = `stty cols 120 rows 40; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], {cwd: ROOT, env: {...process.env, ...options.env}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr, ms: performance.now() - started}))
    child.stdin.end(options.input ?? '')
  })
}

/** The SGR (colour, bold) escape sequences in a text; cursor movements are not colour. */
export function colourCodes(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  return text.match(/\u001B\[[0-9;]*m/g) ?? []
}
