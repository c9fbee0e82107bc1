import {spawnSync} from 'node:child_process'

/**
 * Tests that drive a real program from a Debian package (promtool, prometheus-pushgateway, xmllint, chromium, ping…).
 * A fresh machine lacks them and `.ci/run` installs them: without `CI` a missing program skips its tests with one
 * visible line naming the package; with `CI` set it fails, so CI always runs them.
 */
const seen = new Map<string, string | undefined>()

/** The program's path on PATH, or undefined. */
export function programPath(program: string): string | undefined {
  if (!seen.has(program)) {
    const found = spawnSync('sh', ['-c', `command -v ${program}`], {encoding: 'utf8'})
    seen.set(program, found.status === 0 ? found.stdout.trim() : undefined)
  }
  return seen.get(program)
}

/**
 * True when `program` can be run. Otherwise: with CI set, throws (the test fails, naming the package); without CI,
 * prints one line naming the package to install and returns false, for `describe.runIf(...)` / `it.runIf(...)`.
 */
export function hasProgram(program: string, debianPackage: string): boolean {
  if (programPath(program)) return true
  const line = `${program} not found: install Debian's ${debianPackage} (apt-get install ${debianPackage}) to run these tests`
  if (process.env.CI) throw new Error(`${line}; CI must have it (.ci/run installs it)`)
  process.stderr.write(`SKIP: ${line}\n`)
  return false
}
