import {rename, writeFile} from 'node:fs/promises'

/** Writes through a temporary file and a rename, so that a reader (node_exporter's textfile collector) never sees half a file. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, text)
  await rename(temporary, path)
}
