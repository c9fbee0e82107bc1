import type {Registry} from 'prom-client'

/**
 * The registry in Prometheus text format, values without float noise: a sum of durations prints as 0.6138587499999995
 * where 0.61385875 is meant. Each sample's value with many decimals (the last field: prom-client writes no
 * timestamps) is cut to 12 significant digits, past what any clock here measures; label values are left as they are.
 */
export async function exposition(registry: Registry): Promise<string> {
  const text = await registry.metrics()
  return text.replace(/^([^#\n].* )(-?\d+\.\d{10,}(?:e[-+]?\d+)?)$/gm, (_line, sample: string, value: string) => `${sample}${Number(Number(value).toPrecision(12))}`)
}
