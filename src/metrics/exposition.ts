import type {Registry} from 'prom-client'

/**
 * The registry in Prometheus text format, values without float noise: a sum of durations prints as 0.6138587499999995
 * where 0.61385875 is meant. Each sample's value with many decimals (the last field: prom-client writes no
 * timestamps) is cut to 12 significant digits, past what any clock here measures; label values are left as they are.
 */
export async function exposition(registry: Registry): Promise<string> {
  const text = await registry.metrics()
  return text.replace(/^([^#\n].* )(-?\d+\.\d{10,}(?:e[-+]?\d+)?)$/gm, (_line, sample: string, value: string) => `${sample}${sampleValue(Number(value))}`)
}

const NOISY = /^-?\d+\.\d{10,}(?:e[-+]?\d+)?$/

/** A sample's value as exposition() prints it (prom-client's spelling of NaN and infinities, float noise cut). */
export function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf'
  const text = String(value)
  // Ten decimals or more take 12 characters at least: shorter values need no test.
  return text.length >= 12 && NOISY.test(text) ? String(Number(value.toPrecision(12))) : text
}

/** A label value in the text format: backslash, newline and double quote escaped, as prom-client escapes them. */
export function labelValue(value: string): string {
  if (!/[\\\n"]/.test(value)) return value
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"')
}

/** A HELP text in the text format: backslash and newline escaped. */
export function helpText(help: string): string {
  return help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')
}
