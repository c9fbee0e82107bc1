import {constants} from 'node:fs'
import {access, rename, rm, stat, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

import {UsageError} from '../cli/errors.js'
import {chunked} from './pieces.js'

/** A file that could not be written at the end of a run: the command still prints its report, then says this. */
export class WriteFailed extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot write "${path}" (${reason})`)
    this.name = 'WriteFailed'
  }
}

/**
 * Writes through a temporary file and a rename, so that a reader (node_exporter's textfile collector) never sees half
 * a file; a failed write leaves no temporary file behind. A large text may come in pieces (pieces.ts).
 */
export async function writeAtomically(path: string, text: string | Iterable<string>): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temporary, typeof text === 'string' ? text : chunked(text))
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, {force: true}).catch(() => {})
    throw new WriteFailed(path, reasonOf(error))
  }
}

/**
 * Checks, before any work, that `path` can be written as a file: its directory exists and takes new files, and it is
 * not itself a directory. A UsageError names the flag, the path and the fix.
 */
export async function checkOutputPath(flag: string, path: string): Promise<void> {
  if (path === '' || path.endsWith('/')) throw new UsageError(`${flag}: "${path}" is not a file name; give a path like out/report.json`)
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory()) throw new UsageError(`${flag}: "${path}" is a directory; give a file path inside it`)
  const directory = dirname(path)
  const parent = await stat(directory).catch((error: unknown) => reasonOf(error))
  if (typeof parent === 'string' || !parent.isDirectory()) {
    const why = typeof parent === 'string' && parent !== 'ENOENT' ? `cannot be read (${parent})` : `("${directory}") does not exist`
    throw new UsageError(`${flag}: the directory of "${path}" ${why}; create it first or give another path`)
  }
  try {
    await access(directory, constants.W_OK | constants.X_OK)
  } catch (error) {
    throw new UsageError(`${flag}: cannot create files in "${directory}" (${reasonOf(error)}); give a writable path`)
  }
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error)
}
