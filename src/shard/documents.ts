import {readFileSync} from 'node:fs'

import {UsageError} from '../cli/errors.js'
import type {Stamped} from './stamp.js'

/** A document and where it was read: `shard-2.json`, or `stdin:14` / `all.log:14` when a source held several. */
export interface Named<D> {
  name: string
  document: D
}

const FIX = "give the --json or --output documents of fanout's shards"

/**
 * Every document in the sources (files, `-` for stdin). A source is one document, or many one a line as `kubectl
 * logs -l job-name=…` prints a Job's pods: fanout prints each --json document on one line, and lines that do not
 * start with `{` (progress lines and messages on the pods' stderr, which `kubectl logs` mixes in) are skipped. A line
 * that starts with `{` and does not parse is a cut or corrupt document: refused, naming it. A source that is one
 * document over many lines (pretty-printed) is read whole.
 */
export async function readDocuments(sources: string[], stdin: () => Promise<string>): Promise<{documents: Named<Stamped>[]; skipped: number}> {
  const documents: Named<Stamped>[] = []
  let skipped = 0
  for (const source of sources) {
    const label = source === '-' ? 'stdin' : source
    let text: string
    try {
      // Files read synchronously, one at a time: merge has nothing else to do meanwhile, and each asynchronous read
      // waits its turn on the thread pool four times (open, stat, read, close) — 256 waits for 64 shards, most of a
      // merge's wall time on a loaded machine. Side by side instead, every file's text and bytes are held at once.
      text = source === '-' ? await stdin() : readFileSync(source, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read "${source}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ${FIX}, or - for stdin`)
    }
    const found: {line: number; document: unknown}[] = wholeDocument(text)
    const lines = found.length > 0 ? [] : text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (!line.startsWith('{')) {
        if (line !== '') skipped++
        continue
      }
      try {
        found.push({line: i + 1, document: JSON.parse(line)})
      } catch (error) {
        throw new UsageError(`${label}:${i + 1}: not a whole JSON document (${(error as Error).message}); ${FIX}`)
      }
    }
    if (found.length === 0) throw new UsageError(`${label}: no JSON document in it; ${FIX}`)
    for (const {line, document} of found) {
      const name = found.length === 1 && source !== '-' ? label : `${label}:${line}`
      documents.push({name, document: checkStamp(document, name)})
    }
  }
  return {documents, skipped}
}

/** A source that is one JSON document as a whole (pretty-printed, say by jq). */
function wholeDocument(text: string): {line: number; document: unknown}[] {
  if (!text.trimStart().startsWith('{')) return []
  try {
    return [{line: 1, document: JSON.parse(text)}]
  } catch {
    return []
  }
}

function checkStamp(document: unknown, name: string): Stamped {
  const d = document as Partial<Stamped> & {results?: unknown[]}
  const shard = d?.shard
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0
  const valid =
    typeof d?.command === 'string' &&
    typeof d.runId === 'string' &&
    whole(shard?.index) &&
    whole(shard?.count) &&
    shard!.index < shard!.count &&
    typeof shard!.input === 'string' &&
    whole(shard!.total) &&
    (shard!.positions === undefined || (Array.isArray(shard!.positions) && shard!.positions.every((p) => whole(p) && p < shard!.total)))
  if (!valid) throw new UsageError(`${name} is not a fanout report with a run id and shard identity (command, runId, shard); ${FIX}`)
  if (d.results !== undefined && (!Array.isArray(d.results) || (shard!.positions?.length ?? shard!.total) !== d.results.length)) {
    throw new UsageError(`${name}: its results do not match its shard's positions (a cut or edited document); ${FIX}`)
  }
  return d as Stamped
}
