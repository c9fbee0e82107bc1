/**
 * Whether to colour what goes to `stream`: FORCE_COLOR (other than 0 or false) forces colour even into a pipe;
 * else NO_COLOR, when set and not empty, turns it off (no-color.org); else colour on a terminal that is not dumb.
 */
export function useColor(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force !== 'false'
  if (env.NO_COLOR) return false
  return stream.isTTY === true && env.TERM !== 'dumb'
}

/** SGR codes, with the reset each needs: only what fanout's tables use. */
const STYLE = {bold: ['\u001B[1m', '\u001B[22m'], grey: ['\u001B[90m', '\u001B[39m']} as const

export type Style = keyof typeof STYLE

export function paint(text: string, style: Style, color: boolean): string {
  return color && text !== '' ? `${STYLE[style][0]}${text}${STYLE[style][1]}` : text
}
