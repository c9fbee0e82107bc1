import {readFile} from 'node:fs/promises'

import {UsageError} from './errors.js'

export interface Line {
  text: string
  /** `file:line`, for errors about this line. */
  where: string
}

/**
 * A list file (targets, URLs, namespaces): one entry a line, trimmed, blank lines and `#` comments skipped; `-` reads
 * stdin. A file that cannot be read is a UsageError naming the flag and what the file should hold.
 */
export async function readLineFile(file: string, flag: string, holds: string): Promise<Line[]> {
  let text: string
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new UsageError(`${flag}: cannot read "${file}" (${reason}); give a file with ${holds}, or - for stdin`)
  }
  return text.split(/\r?\n/).flatMap((line, index) => {
    const entry = line.trim()
    return entry === '' || entry.startsWith('#') ? [] : [{text: entry, where: `${file === '-' ? 'stdin' : file}:${index + 1}`}]
  })
}

/** All of stdin, as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
