import type {Histogram, JsHistogram} from 'hdr-histogram-js'

export interface Bucket {
  /** The bucket's upper bound, in ms. */
  upTo: number
  count: number
}

/**
 * Responses per latency bucket, `count` buckets from the fastest to the slowest response: linear steps as oha draws
 * them, or geometric ones when the slowest is more than 10x the fastest (a long tail would otherwise put nearly
 * everything in the first bucket).
 */
export function distribution(histogram: Histogram, count: number): Bucket[] {
  if (histogram.totalCount === 0) return []
  const low = histogram.minNonZeroValue
  const high = histogram.maxValue
  const geometric = high > low * 10
  const bounds = Array.from({length: count}, (_, i) => {
    const step = (i + 1) / count
    return geometric ? low * (high / low) ** step : low + (high - low) * step
  })
  const counts = new Array<number>(count).fill(0)
  const values = (histogram as JsHistogram).recordedValuesIterator
  values.reset()
  let at = 0
  while (values.hasNext()) {
    const {valueIteratedTo, countAtValueIteratedTo} = values.next()
    while (at < count - 1 && valueIteratedTo > bounds[at]!) at++
    counts[at]! += countAtValueIteratedTo
  }
  return bounds.map((bound, i) => ({upTo: bound / 1000, count: counts[i]!}))
}

/** Percentiles from 0 to 99.999, evenly spaced on HdrHistogram's log scale of 1/(1 - p): the latency spectrum. */
export const SPECTRUM = [0, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999] as const

export function spectrum(histogram: Histogram): {percentile: number; ms: number}[] {
  if (histogram.totalCount === 0) return []
  return SPECTRUM.map((percentile) => ({percentile, ms: histogram.getValueAtPercentile(percentile) / 1000}))
}
