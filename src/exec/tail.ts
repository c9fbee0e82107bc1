/** The last lines of a stream, in bounded memory whatever the child prints. */
export class Tail {
  private chunks: Buffer[] = []
  private bytes = 0

  constructor(
    private readonly maxLines = 5,
    private readonly maxBytes = 16 * 1024,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.bytes += chunk.length
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.maxBytes) {
      this.bytes -= this.chunks.shift()!.length
    }
  }

  lines(): string[] {
    // Most commands print nothing on one stream or both: no concatenation, decoding and splitting for them.
    if (this.bytes === 0) return []
    const text = Buffer.concat(this.chunks).subarray(-this.maxBytes).toString('utf8')
    const lines = text.split(/\r?\n/).map((line) => line.trimEnd())
    while (lines.length > 0 && lines.at(-1) === '') lines.pop()
    return lines.slice(-this.maxLines)
  }
}
