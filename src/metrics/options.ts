// What a command needs of metrics before it knows whether any are asked for: no prom-client here, so that a run
// without metrics flags never loads it (session.ts is imported only when one is given).

export interface MetricsOptions {
  /** `host:port` to serve /metrics on while the command runs. */
  addr?: string
  /** How long /metrics stays up after the run, for a last scrape. */
  lingerMs: number
  pushgateway?: string
  pushJob?: string
  pushRequired: boolean
  /** Write the final figures here (atomically), for node_exporter's textfile collector. */
  file?: string
  /** More of the Pushgateway grouping key: `shard`, so that the shards of one Job do not overwrite each other. */
  groupings?: Record<string, string>
}

/** The options from a command's metricsFlags. */
export function metricsOptions(flags: {
  'metrics-addr'?: string
  'metrics-linger': number
  pushgateway?: string
  'push-job'?: string
  'push-required': boolean
  'metrics-file'?: string
}): MetricsOptions {
  return {
    addr: flags['metrics-addr'],
    lingerMs: flags['metrics-linger'],
    pushgateway: flags.pushgateway,
    pushJob: flags['push-job'],
    pushRequired: flags['push-required'],
    file: flags['metrics-file'],
  }
}

/** --push-required and the push failed, or --metrics-file could not be written: the command exits 1 after its report. */
export class DeliveryFailed extends Error {}

/** Whether any metrics output is asked for; without one, none is made and prom-client is never loaded. */
export function wantsMetrics(options: MetricsOptions): boolean {
  return options.addr !== undefined || options.pushgateway !== undefined || options.file !== undefined
}
