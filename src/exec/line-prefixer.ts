/**
 * Turns a child's output chunks into whole lines prefixed with its target, so that the output of many children
 * running at once interleaves line by line and stays readable. A line longer than `maxLine` is cut rather than held.
 */
export class LinePrefixer {
  private partial = ''

  constructor(
    private readonly prefix: string,
    private readonly write: (text: string) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n')
    this.partial = lines.pop()!
    if (this.partial.length > this.maxLine) {
      lines.push(this.partial)
      this.partial = ''
    }
    if (lines.length > 0) this.write(lines.map((line) => `${this.prefix}${line.replace(/\r$/, '')}\n`).join(''))
  }

  /** The last line, when the output did not end with a newline. */
  end(): void {
    if (this.partial !== '') this.write(`${this.prefix}${this.partial}\n`)
    this.partial = ''
  }
}
