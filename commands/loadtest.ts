import {readFile} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {FanoutCommand} from '../src/cli/command.js'
import {UsageError} from '../src/cli/errors.js'
import {count, duration, metricsFlags, outputFlags, positiveCount} from '../src/cli/flags.js'
import {LoadProgress} from '../src/load/load-progress.js'
import {LoadMetrics} from '../src/load/metrics.js'
import {renderLoad} from '../src/load/render.js'
import {loadReport} from '../src/load/report.js'
import {buildRequests, checkHeaders, readTargets} from '../src/load/requests.js'
import {parseThreshold} from '../src/load/thresholds.js'
import {runThreads} from '../src/load/threads.js'
import {ExitCode} from '../src/report/exit-codes.js'
import {progressMode} from '../src/report/progress.js'
import {maskUrl} from '../src/report/mask.js'
import {checkOutputPath} from '../src/report/write-file.js'

export default class Loadtest extends FanoutCommand {
  static override summary = 'Drive HTTP/1.1 load with a bounded pool of keep-alive workers and report latency you can trust.'

  static override description = [
    'Each worker is one keep-alive connection sending requests back to back (or --pipelining at once). Latency is recorded in microseconds in HDR histograms: p50 to p99.99, max, mean and stdev, in bounded memory whatever the run\'s length.',
    'With --rate, sends follow an even schedule across all workers (not per-second bursts) and latency is measured from each request\'s intended send time — corrected for coordinated omission, with the uncorrected figures beside it; sends that went out late or never are counted.',
    'Counts reconcile: requests = completed + errors + in flight at the end. Errors are counted by kind (refused, reset, timeout, parse) with the first message of each.',
    'Note: -w is workers (connections) here, as in every fanout command; autocannon\'s -w means worker threads, which is --threads here.',
    'Exit codes: 0 done, every threshold met; 1 a threshold breached; 2 bad usage (unknown threshold metric, bad URL…); 3 internal error; 130 interrupted (after the partial report).',
  ].join('\n\n')

  static override examples = [
    {description: '100 connections for 30 s:', command: '<%= config.bin %> loadtest http://127.0.0.1:8080/ --workers 100 --duration 30s'},
    {description: 'A constant 5,000 req/s with a latency gate for CI:', command: '<%= config.bin %> loadtest http://127.0.0.1:8080/api --rate 5000 -d 1m --threshold "p99<50ms" --threshold "errors<0.1%"'},
    {description: 'Shards on several machines, merged:', command: '<%= config.bin %> loadtest http://svc:8080/ -d 1m --output shard-$JOB_INDEX.json && <%= config.bin %> loadtest merge shard-*.json'},
  ]

  static override strict = false

  static override usage = 'loadtest URL… [--targets FILE] [flags]'

  static override flags = {
    workers: positiveCount({char: 'w', default: 10, helpValue: '<count>', summary: 'Concurrent workers, one keep-alive connection each.'}),
    connections: positiveCount({char: 'c', summary: 'The same as --workers (autocannon and wrk call them connections).', exclusive: ['workers'], helpValue: '<count>'}),
    duration: duration({char: 'd', summary: 'How long to measure (after --warmup); the default when --requests is not given.', defaultHelp: async () => '10s'}),
    requests: count({char: 'n', summary: 'Measured requests to send in all (instead of a duration).', exclusive: ['duration']}),
    rate: positiveCount({char: 'R', helpValue: '<req/s>', summary: 'A constant arrival rate across all workers, in requests per second (coordinated-omission corrected).'}),
    threads: positiveCount({ default: 1, helpValue: '<count>', summary: 'Worker threads, each with a share of the workers (to use more than one core).'}),
    method: Flags.string({char: 'm', default: 'GET', summary: 'HTTP method.'}),
    header: Flags.string({char: 'H', multiple: true, helpValue: '<"Name: value">', summary: 'A request header (repeatable).'}),
    body: Flags.string({char: 'b', summary: 'Request body.', exclusive: ['body-file']}),
    'body-file': Flags.string({helpValue: '<file>', summary: 'Request body from a file.'}),
    pipelining: positiveCount({ default: 1, helpValue: '<count>', summary: 'Requests in flight on each connection at once.'}),
    timeout: duration({summary: 'A request without a response this long is an error (timeout); its connection is replaced.', default: 10_000, defaultHelp: async () => '10s'}),
    warmup: duration({summary: 'Send for this long first without counting it.', default: 0, defaultHelp: async () => '0'}),
    targets: Flags.string({helpValue: '<file>', summary: 'URLs (or "METHOD URL") one a line, sent round-robin; one origin.'}),
    threshold: Flags.string({multiple: true, helpValue: '<"p99<200ms">', summary: 'A pass/fail gate (repeatable): p50..p99.99|max|mean|stdev < duration, errors|non-2xx < N or N%, rps > N.'}),
    output: Flags.string({char: 'o', helpValue: '<file>', summary: 'Write the full result (JSON, histograms included) here, for loadtest merge.'}),
    ...outputFlags,
    ...metricsFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Loadtest)
    const thresholds = (flags.threshold ?? []).map(parseThreshold)
    if (flags.output !== undefined) await checkOutputPath('--output', flags.output)
    const lines = (argv as string[]).map((text, index) => ({text, where: `argument ${index + 1}`}))
    if (flags.targets !== undefined) lines.push(...(await readTargets(flags.targets)))
    const body = flags['body-file'] === undefined ? (flags.body === undefined ? undefined : Buffer.from(flags.body)) : await readBody(flags['body-file'])
    const {origin, requests} = buildRequests(lines, {method: flags.method.toUpperCase(), headers: checkHeaders(flags.header ?? []), body})
    const workers = flags.connections ?? flags.workers
    const durationMs = flags.requests === undefined ? (flags.duration ?? 10_000) : flags.duration
    const plan = {origin, requests, workers, durationMs, requestCount: flags.requests, rate: flags.rate, pipelining: flags.pipelining, timeoutMs: flags.timeout || 10_000, warmupMs: flags.warmup}

    const metrics = await this.openMetrics(flags)
    const load = metrics && new LoadMetrics(metrics.registry)
    // The shared fanout_tasks_* series count requests here: each request is loadtest's task.
    const tasks = (snapshot: {completed: number; errors: number; inFlight: number}) => ({
      succeeded: snapshot.completed,
      failed: snapshot.errors,
      inFlight: snapshot.inFlight,
      queued: plan.requestCount === undefined ? 0 : Math.max(0, plan.requestCount - snapshot.completed - snapshot.errors - snapshot.inFlight),
    })
    metrics?.engine.begin(plan.requestCount ?? 0)
    const progress = new LoadProgress('loadtest', undefined, progressMode(flags.quiet))
    progress.totalMs = durationMs
    let tally
    try {
      tally = await runThreads(plan, flags.threads, {
        signal: this.interruption.signal,
        onTick: (snapshot) => {
          progress.update(snapshot)
          load?.tick(snapshot)
          metrics?.engine.sync(tasks(snapshot))
        },
      })
    } finally {
      progress.stop()
    }
    const config = {urls: requests.map((request) => maskUrl(request.url)), workers, threads: flags.threads, ...(flags.rate ? {rate: flags.rate} : {}), pipelining: flags.pipelining}
    const report = loadReport('loadtest', tally, config, thresholds, this.interrupted)
    load?.end(tally)
    metrics?.engine.sync({...tasks({completed: tally.completed, errors: report.summary.errors, inFlight: 0}), queued: 0})
    metrics?.engine.end(report.summary.durationMs, report.ok)
    this.report(flags.json ? JSON.stringify(report) : renderLoad(report))
    this.finish(this.interrupted ? ExitCode.interrupted : report.ok ? ExitCode.ok : ExitCode.failed)
    if (flags.output !== undefined) await this.writeOutput('--output', flags.output, `${JSON.stringify(report)}\n`)
    await this.closeMetrics(metrics)
  }
}

async function readBody(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new UsageError(`--body-file: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
  }
}
