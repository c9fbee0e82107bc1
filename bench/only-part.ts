/**
 * A bench's `--only PART`: the test for whether a part runs (every part without the flag), so that a change to one
 * part is measured without the minutes the others take. Any other PART is refused, naming the ones there are.
 */
export function onlyPart<P extends string>(parts: readonly P[], only: string | undefined): (part: P) => boolean {
  if (only !== undefined && !parts.includes(only as P)) throw new Error(`--only expects ${parts.join(', ')}; got ${only}`)
  return (part) => only === undefined || only === part
}
