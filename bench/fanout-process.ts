import {spawn, spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Runs `measure` against the CLI as a package ships it, with oclif.manifest.json (made here, removed after). Without
 * it oclif imports every command module to learn the flags, and the process is that much larger — which costs at
 * start and, for exec, in every fork (page tables copied per child: 60 MB more memory made each spawn 1.3 ms dearer).
 */
export async function withManifest<T>(measure: () => T | Promise<T>): Promise<T> {
  const made = spawnSync(process.execPath, ['scripts/oclif-manifest.mjs'], {cwd: ROOT, encoding: 'utf8'})
  if (made.status !== 0) throw new Error(`oclif manifest: ${made.stderr}`)
  try {
    return await measure()
  } finally {
    rmSync(new URL('../../oclif.manifest.json', import.meta.url), {force: true})
  }
}

export interface ProcessRun {
  code: number | null
  stdout: string
  wallMs: number
  /** Peak resident set size, from the kernel's high-water mark (VmHWM), in MB. */
  peakRssMb: number
}

/** Runs the built CLI as a user would and measures its wall time and peak RSS. */
export function runFanout(args: string[]): Promise<ProcessRun> {
  return runProcess(process.execPath, [BIN, ...args])
}

/**
 * Runs any command and measures its wall time and peak RSS; `taskset -c 1 node …` works too (taskset becomes the
 * command it runs, under the same pid).
 */
export function runProcess(command: string, args: string[]): Promise<ProcessRun> {
  const started = performance.now()
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'inherit']})
  let stdout = ''
  let peakKb = 0
  child.stdout.on('data', (chunk) => (stdout += chunk))
  // VmHWM only grows; reading it often enough catches the peak before the process exits.
  const poll = setInterval(async () => {
    try {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))
    } catch {
      // The process has exited.
    }
  }, 20)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(poll)
      resolve({code, stdout, wallMs: performance.now() - started, peakRssMb: peakKb / 1024})
    })
  })
}
