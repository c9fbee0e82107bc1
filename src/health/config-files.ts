import {readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {UsageError} from '../cli/errors.js'

/**
 * The files behind `--file` paths: a file as given, a directory as every .yml/.yaml file under it, in name order
 * (Gatus reads a config directory the same way, recursively).
 */
export async function configFiles(paths: string[]): Promise<string[]> {
  const files: string[] = []
  for (const path of paths) {
    let isDirectory: boolean
    try {
      isDirectory = (await stat(path)).isDirectory()
    } catch (error) {
      throw new UsageError(`cannot read check file "${path}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
    }
    if (!isDirectory) {
      files.push(path)
      continue
    }
    const found = (await readdir(path, {recursive: true, withFileTypes: true}))
      .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
      .map((entry) => join(entry.parentPath, entry.name))
      .sort()
    if (found.length === 0) throw new UsageError(`${path}: no .yaml or .yml files in this directory; point --file at a check file or a directory of them`)
    files.push(...found)
  }
  return files
}
