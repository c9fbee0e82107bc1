import {readFile} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {FanoutCommand} from '../src/cli/command.js'
import {UsageError} from '../src/cli/errors.js'
import {count, duration, fixedWorkers, metricsFlags, outputFlags, positiveCount} from '../src/cli/flags.js'
import {LoadProgress} from '../src/load/load-progress.js'
import {renderLoad} from '../src/load/render.js'
import {checkDescriptors} from '../src/load/descriptors.js'
import {protocolPlan} from '../src/load/protocol.js'
import {compareWith, prepareOutputs, reportPage} from '../src/load/outputs.js'
import {reportFlags} from '../src/load/flags.js'
import {loadReport, nothingCompleted} from '../src/load/report.js'
import {buildRequests, checkHeaders, readTargets} from '../src/load/requests.js'
import {parseThreshold} from '../src/load/thresholds.js'
import {runThreads} from '../src/load/threads.js'
import {ExitCode} from '../src/report/exit-codes.js'
import {progressMode} from '../src/report/progress.js'
import {maskUrl} from '../src/report/mask.js'
import {checkOutputPath} from '../src/report/write-file.js'
import {share} from '../src/shard/assign.js'
import {shardFlags, shardSpecOf} from '../src/shard/flags.js'
import {shardName} from '../src/shard/spec.js'
import type {ShardSpec} from '../src/shard/spec.js'
import {Sharding, describeShard, stamped} from '../src/shard/stamp.js'

export default class Loadtest extends FanoutCommand {
  static override summary = 'Drive HTTP/1.1, HTTPS or HTTP/2 load with a bounded pool of keep-alive workers and report latency you can trust.'

  static override description = [
    'Each worker is one keep-alive connection sending requests back to back (or --pipelining at once). Latency is recorded in microseconds in HDR histograms: min, p2.5 to p99.99, max, mean and stdev, in bounded memory whatever the run\'s length.',
    'With --rate, sends follow an even schedule across all workers (not per-second bursts) and latency is measured from each request\'s intended send time — corrected for coordinated omission, with the uncorrected figures beside it; sends that went out late or never are counted.',
    'Counts reconcile: requests = completed + errors + in flight at the end. Errors are counted by kind (refused, connect, tls, reset, timeout, parse) with the first message of each; a run in which no request completed exits 1.',
    'HTTPS verifies certificates (Node\'s, the system\'s and NODE_EXTRA_CA_CERTS CAs; --ca, --insecure, --cert/--key, --servername). HTTP/2 with --http2 (h2c over http://) or --http auto (ALPN), --streams requests in flight per connection.',
    'Note: -w is workers (connections) here, as in every fanout command; autocannon\'s -w means worker threads, which is --threads here.',
    '--report run.html writes one self-contained HTML page (uPlot inlined, nothing fetched when it is opened). --compare baseline.json prints the difference against a saved run per percentile and req/s with a verdict line, and draws it in the page: a figure worse by more than --tolerance (default 5%: latency up, req/s down) is a regression, and the run exits 1.',
    'Exit codes: 0 done, every threshold met; 1 a threshold breached, a regression against --compare, or no request completed; 2 bad usage (unknown threshold metric, bad URL…); 3 internal error; 130 interrupted (after the partial report).',
  ].join('\n\n')

  static override examples = [
    {description: '100 connections for 30 s:', command: '<%= config.bin %> loadtest http://127.0.0.1:8080/ --workers 100 --duration 30s'},
    {description: 'A constant 5,000 req/s with a latency gate for CI:', command: '<%= config.bin %> loadtest http://127.0.0.1:8080/api --rate 5000 -d 1m --threshold "p99<50ms" --threshold "errors<0.1%"'},
    {description: 'Shards on several machines, merged:', command: '<%= config.bin %> loadtest http://svc:8080/ -d 1m --output shard-$JOB_INDEX.json && <%= config.bin %> loadtest merge shard-*.json'},
  ]

  static override strict = false

  static override usage = 'loadtest URL… [--targets FILE] [flags]'

  static override flags = {
    workers: fixedWorkers({char: 'w', default: 10, summary: 'Concurrent workers, one keep-alive connection each (a number: here the workers are the load).'}),
    connections: fixedWorkers({char: 'c', summary: 'The same as --workers (autocannon and wrk call them connections).', exclusive: ['workers']}),
    duration: duration({char: 'd', summary: 'How long to measure (after --warmup); the default when --requests is not given.', defaultHelp: async () => '10s'}),
    requests: count({char: 'n', summary: 'Measured requests to send in all (instead of a duration).'}),
    rate: positiveCount({char: 'R', helpValue: '<req/s>', summary: 'A constant arrival rate across all workers, in requests per second (coordinated-omission corrected).'}),
    threads: positiveCount({ default: 1, helpValue: '<count>', summary: 'Worker threads, each with a share of the workers (to use more than one core).'}),
    method: Flags.string({char: 'm', default: 'GET', summary: 'HTTP method.'}),
    // Non-greedy: `-H 'X-A: 1' http://host/` is one header and a URL, not two headers.
    header: Flags.string({char: 'H', multiple: true, multipleNonGreedy: true, helpValue: '<"Name: value">', summary: 'A request header (repeatable).'}),
    body: Flags.string({char: 'b', summary: 'Request body.', exclusive: ['body-file']}),
    'body-file': Flags.string({helpValue: '<file>', summary: 'Request body from a file.'}),
    pipelining: positiveCount({ default: 1, helpValue: '<count>', summary: 'Requests in flight on each connection at once.'}),
    timeout: duration({summary: 'A request without a response this long is an error (timeout); its connection is replaced.', default: 10_000, defaultHelp: async () => '10s'}),
    warmup: duration({summary: 'Send for this long first without counting it.', default: 0, defaultHelp: async () => '0'}),
    targets: Flags.string({helpValue: '<file>', summary: 'URLs (or "METHOD URL") one a line, sent round-robin; one origin.'}),
    threshold: Flags.string({multiple: true, multipleNonGreedy: true, helpValue: '<"p99<200ms">', summary: 'A pass/fail gate (repeatable): min|p2.5..p99.99|max|mean|stdev < duration, errors|non-2xx < N or N%, rps > N.'}),
    http: Flags.string({options: ['1.1', '2', 'auto'], default: '1.1', summary: 'HTTP version: 1.1, 2, or auto (HTTP/2 when the server picks it by ALPN over TLS; HTTP/1.1 over plain TCP).'}),
    http2: Flags.boolean({summary: 'The same as --http 2 (over http:// it is h2c, HTTP/2 without TLS).', exclusive: ['http']}),
    streams: Flags.integer({min: 1, default: 10, helpValue: '<count>', summary: 'HTTP/2: requests in flight at once on each connection (--workers stays the number of connections).'}),
    insecure: Flags.boolean({char: 'k', summary: 'Skip TLS certificate verification (a test server\'s self-signed certificate).'}),
    ca: Flags.string({helpValue: '<file>', summary: 'Trust only the CAs in this PEM file (instead of Node\'s, the system\'s and NODE_EXTRA_CA_CERTS).'}),
    cert: Flags.string({helpValue: '<file>', summary: 'A client certificate (PEM) for mutual TLS; with --key.', dependsOn: ['key']}),
    key: Flags.string({helpValue: '<file>', summary: 'The client certificate\'s private key (PEM).', dependsOn: ['cert']}),
    servername: Flags.string({helpValue: '<name>', summary: 'The TLS server name (SNI) and the name the certificate must carry, when it is not the URL\'s host.'}),
    output: Flags.string({char: 'o', helpValue: '<file>', summary: 'Write the full result (JSON, histograms included) here, for fanout merge.'}),
    ...reportFlags,
    ...shardFlags,
    ...outputFlags,
    ...metricsFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Loadtest)
    // Checked here rather than by oclif's `exclusive`, whose message shows --duration's help default, not what was typed.
    if (flags.duration !== undefined && flags.requests !== undefined) {
      throw new UsageError('--duration and --requests both bound the run; give one: a time (-d 1s) or a count of requests (-n 100)')
    }
    const thresholds = (flags.threshold ?? []).map(parseThreshold)
    if (flags.output !== undefined) await checkOutputPath('--output', flags.output)
    const lines = (argv as string[]).map((text, index) => ({text, where: `argument ${index + 1}`}))
    if (flags.targets !== undefined) {
      const targets = await readTargets(flags.targets)
      if (targets.length === 0) throw new UsageError(`--targets: "${flags.targets}" holds no URL; give one URL (or "METHOD URL") a line`)
      lines.push(...targets)
    }
    const body = flags['body-file'] === undefined ? (flags.body === undefined ? undefined : Buffer.from(flags.body)) : await readBody(flags['body-file'])
    const {origin, requests} = buildRequests(lines, {method: flags.method.toUpperCase(), headers: checkHeaders(flags.header ?? []), body})
    const sharding = new Sharding(shardSpecOf(flags))
    const given = {workers: flags.connections ?? flags.workers, rate: flags.rate, requests: flags.requests}
    const {workers, rate, requests: requestCount} = sharding.spec ? shareOf(given, sharding.spec) : given
    // The input is what goes on the wire: shards of one run send the same requests (method, URL, headers, body).
    const stamp = sharding.whole([...requests.map((request) => `${request.method} ${request.url}`), ...(flags.header ?? []), body?.toString('base64') ?? ''], requests.length)
    checkDescriptors(workers)
    const durationMs = requestCount === undefined ? (flags.duration ?? 10_000) : flags.duration
    const timeoutMs = flags.timeout || 10_000
    const protocol = await protocolPlan(origin, {...flags, http: flags.http2 ? '2' : flags.http, timeoutMs})
    const plan = {origin, requests, workers, durationMs, requestCount, rate, pipelining: flags.pipelining, timeoutMs, warmupMs: flags.warmup, ...protocol}
    const outputs = await prepareOutputs(flags)

    const metrics = await this.openMetrics(flags, sharding.spec)
    // prom-client (under these modules) is loaded only when a metrics flag is given.
    const load = metrics && new (await import('../src/load/metrics.js')).LoadMetrics(metrics.registry)
    // The shared fanout_tasks_* series count requests here: each request is loadtest's task.
    const tasks = (snapshot: {completed: number; errors: number; inFlight: number}) => ({
      succeeded: snapshot.completed,
      failed: snapshot.errors,
      inFlight: snapshot.inFlight,
      queued: plan.requestCount === undefined ? 0 : Math.max(0, plan.requestCount - snapshot.completed - snapshot.errors - snapshot.inFlight),
    })
    metrics?.engine.begin(plan.requestCount ?? 0)
    const progress = new LoadProgress(sharding.label('loadtest'), undefined, progressMode(flags.quiet))
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
    const config = {urls: requests.map((request) => maskUrl(request.url)), workers, threads: flags.threads, ...(rate ? {rate} : {}), pipelining: flags.pipelining}
    const report = stamped(compareWith(loadReport('loadtest', tally, config, thresholds, this.interrupted), outputs), sharding.runId, stamp)
    load?.end(tally)
    metrics?.engine.sync({...tasks({completed: tally.completed, errors: report.summary.errors, inFlight: 0}), queued: 0})
    metrics?.engine.end(report.summary.durationMs, report.ok)
    this.report(flags.json ? JSON.stringify(report) : [renderLoad(report), describeShard(stamp, undefined)].filter(Boolean).join('\n'))
    const nothing = this.interrupted ? undefined : nothingCompleted(tally)
    if (nothing) process.stderr.write(`fanout loadtest: ${nothing}\n`)
    this.finish(this.interrupted ? ExitCode.interrupted : report.ok ? ExitCode.ok : ExitCode.failed)
    if (flags.output !== undefined) await this.writeOutput('--output', flags.output, `${JSON.stringify(report)}\n`)
    if (flags.report !== undefined) await this.writeOutput('--report', flags.report, await reportPage(report, outputs))
    await this.closeMetrics(metrics)
  }
}

/**
 * This shard's part of the load: workers, --rate and --requests split exactly (the remainders to the lowest
 * indexes), so that the shards together send what one run would. A part that comes out zero is refused.
 */
function shareOf(given: {workers: number; rate?: number; requests?: number}, spec: ShardSpec) {
  const part = (total: number, flag: string) => {
    const mine = share(total, spec.count, spec.index)
    if (mine === 0) throw new UsageError(`--shard ${spec.index}/${spec.count}: ${flag} ${total} leaves ${shardName(spec)} nothing; give ${flag} at least ${spec.count} (one for each shard)`)
    return mine
  }
  return {
    workers: part(given.workers, '--workers'),
    rate: given.rate === undefined ? undefined : part(given.rate, '--rate'),
    requests: given.requests === undefined ? undefined : part(given.requests, '--requests'),
  }
}

async function readBody(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new UsageError(`--body-file: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? error}); check the path`)
  }
}
