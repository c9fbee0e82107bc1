import {UsageError} from '../cli/errors.js'
import {readLineFile} from '../cli/line-file.js'

/** Targets from `--target` values and a `--targets` file (`-` reads stdin): one a line, blanks and `#` comments skipped. */
export async function readTargets(file: string | undefined, inline: string[] = []): Promise<string[]> {
  const targets = [...inline]
  if (file !== undefined) targets.push(...(await readLineFile(file, '--targets', 'one target per line')).map((line) => line.text))
  if (targets.length === 0) {
    throw new UsageError(
      file === undefined ? 'no targets: give --targets FILE (one a line) or --target X (repeatable)' : `--targets: "${file}" lists no targets`,
    )
  }
  return targets
}
