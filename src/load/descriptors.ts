import {readFileSync} from 'node:fs'

import {UsageError} from '../cli/errors.js'

/** File descriptors Node and the run need besides one per connection: stdio, the event loop, threads, metrics. */
const HEADROOM = 64

/** The soft limit on open files from /proc/self/limits (Node raises it to the hard limit at start), or undefined. */
function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
    return line === undefined || line === 'unlimited' ? undefined : Number(line)
  } catch {
    return undefined // not Linux: a run past the limit reports its EMFILE errors instead
  }
}

/** -w past `ulimit -n` is exit 2 before anything is sent, naming the limit and how to raise it. */
export function checkDescriptors(workers: number): void {
  const limit = openFilesLimit()
  if (limit === undefined || workers + HEADROOM <= limit) return
  throw new UsageError(`--workers ${workers} needs ${workers + HEADROOM} open files and this process may open ${limit} (ulimit -n): raise it (ulimit -n ${workers + HEADROOM}, as root or up to ulimit -Hn) or lower --workers`)
}
