import {readFile} from 'node:fs/promises'

import {UsageError} from './errors.js'

export interface Line {
  text: string
  /** `file:line`, for errors about this line. */
  where: string
}

/**
 * A list file (targets, URLs, namespaces): one entry a line, trimmed, blank lines and `#` comments skipped; `-` reads
 * stdin. A file that cannot be read, or is not text (a NUL byte, bytes that are not UTF-8: a binary given by
 * mistake, whose every "line" would otherwise run), is a UsageError naming the flag and what the file should hold.
 */
export async function readLineFile(file: string, flag: string, holds: string): Promise<Line[]> {
  let bytes: Buffer
  try {
    bytes = file === '-' ? await readStdin() : await readFile(file)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new UsageError(`${flag}: cannot read "${file}" (${reason}); give a file with ${holds}, or - for stdin`)
  }
  const name = file === '-' ? 'stdin' : file
  const text = textOf(bytes, `${flag}: "${name}" is not text`, `; give a file with ${holds}`)
  return text.split(/\r?\n/).flatMap((line, index) => {
    const entry = line.trim()
    return entry === '' || entry.startsWith('#') ? [] : [{text: entry, where: `${name}:${index + 1}`}]
  })
}

const utf8 = new TextDecoder('utf-8', {fatal: true})

function textOf(bytes: Buffer, notText: string, fix: string): string {
  const nul = bytes.indexOf(0)
  if (nul !== -1) throw new UsageError(`${notText} (a NUL byte on line ${lineAt(bytes, nul)})${fix}`)
  try {
    return utf8.decode(bytes)
  } catch {
    throw new UsageError(`${notText} (not UTF-8)${fix}`)
  }
}

function lineAt(bytes: Buffer, offset: number): number {
  let line = 1
  for (let at = bytes.indexOf(10); at !== -1 && at < offset; at = bytes.indexOf(10, at + 1)) line++
  return line
}

/** All of stdin, as bytes. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
