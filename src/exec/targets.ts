import {readFile} from 'node:fs/promises'

import {UsageError} from '../cli/errors.js'

/** Targets from `--target` values and a `--targets` file (`-` reads stdin): one a line, blanks and `#` comments skipped. */
export async function readTargets(file: string | undefined, inline: string[] = []): Promise<string[]> {
  const targets = [...inline]
  if (file !== undefined) {
    let text: string
    try {
      text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      throw new UsageError(`--targets: cannot read "${file}" (${reason}); give a file with one target per line, or - for stdin`)
    }
    for (const line of text.split(/\r?\n/)) {
      const target = line.trim()
      if (target !== '' && !target.startsWith('#')) targets.push(target)
    }
  }
  if (targets.length === 0) {
    throw new UsageError(
      file === undefined ? 'no targets: give --targets FILE (one a line) or --target X (repeatable)' : `--targets: "${file}" lists no targets`,
    )
  }
  return targets
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
