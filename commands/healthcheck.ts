import {stat} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {FanoutCommand} from '../src/cli/command.js'
import {UsageError} from '../src/cli/errors.js'
import {keepHeapNearLiveSize} from '../src/cli/heap-growth.js'
import {count, duration, engineFlags, followLimit, metricsFlags, modeOf, outputFlags, size} from '../src/cli/flags.js'
import {abortableSleep} from '../src/engine/index.js'
import {formatDuration} from '../src/cli/values.js'
import {checksFromUrls, readUrlFile} from '../src/health/check.js'
import type {Check, CheckDefaults} from '../src/health/check.js'
import {loadCheckFiles} from '../src/health/check-file.js'
import {checkAll} from '../src/health/check-all.js'
import {changes} from '../src/health/changes.js'
import {DEFAULT_RDAP_URL} from '../src/health/rdap.js'
import {Schedule, withCarriedOver} from '../src/health/schedule.js'
import {renderJunit} from '../src/health/junit.js'
import {renderHealth} from '../src/health/render.js'
import {ResponseTimes, renderHtml} from '../src/health/html.js'
import {labelNames, renderPrometheus} from '../src/health/probe-series.js'
import type {HealthResult} from '../src/health/result.js'
import {statusOf} from '../src/report/envelope.js'
import type {Envelope} from '../src/report/envelope.js'
import {ExitCode} from '../src/report/exit-codes.js'
import {maskUrl} from '../src/report/mask.js'
import {Progress, progressMode} from '../src/report/progress.js'
import {checkOutputPath} from '../src/report/write-file.js'
import {shardFlags, shardSpecOf} from '../src/shard/flags.js'
import {Sharding, describeShard, stamped} from '../src/shard/stamp.js'
import type {ShardStamp} from '../src/shard/stamp.js'

const FORMATS = ['table', 'json', 'junit', 'prometheus', 'html'] as const
const MIN_WATCH_MS = 1000
type Format = (typeof FORMATS)[number]

export default class Healthcheck extends FanoutCommand {
  static override summary = 'Check many backends at once and say clearly which are down and why.'

  static override description = [
    'Checks run through a bounded pool; one failing, slow or hanging backend never stops or slows the others (--keep-going is the default). Each check has its own timeout and retries; a check that passed only after retries says so.',
    'Targets: URLs as arguments, --file with one URL a line, or --file with a YAML check file (Gatus-like: defaults, then checks with name, group, tags, url, method, headers, body, timeout, retries, insecure and conditions; ${ENV} is substituted). Schemes: http:// https:// tcp:// tls:// postgres:// redis://.',
    'Conditions (Gatus syntax): [STATUS] == 200, [RESPONSE_TIME] < 300, [BODY].status == UP, len([BODY].items) > 0, has([BODY].error) == false, [BODY] == pat(*ok*), [STATUS] == any(200, 204), [CERTIFICATE_EXPIRATION] > 336h, [CONNECTED] == true, [IP] == 127.0.0.1. Without conditions an HTTP check passes on a final status below 400, any other on a working connection.',
    'Exit codes: 0 all healthy; 1 more unhealthy checks than --max-failures; 2 bad usage or an invalid check file (nothing ran); 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = [
    {description: 'Check a few URLs:', command: '<%= config.bin %> healthcheck https://api.internal/health tcp://db.internal:5432 redis://cache.internal:6379'},
    {description: 'A check file in CI, JUnit for the test report:', command: '<%= config.bin %> healthcheck --file checks.yaml --format junit --output healthcheck.xml'},
    {description: 'A status page, rewritten every 30 s:', command: '<%= config.bin %> healthcheck --file checks.yaml --watch 30s --format html --output status.html'},
    {description: 'Gatus\'s own configuration directory, once, as a CI gate:', command: '<%= config.bin %> healthcheck --file gatus/config/ --format junit --output healthcheck.xml'},
    {description: 'Validate a check file without running it:', command: '<%= config.bin %> healthcheck --validate checks.yaml'},
    {description: 'Watch every 30 s, blackbox metrics for node_exporter\'s textfile collector:', command: '<%= config.bin %> healthcheck --file checks.yaml --watch 30s --format prometheus --output /var/lib/node_exporter/healthcheck.prom'},
  ]

  static override strict = false

  static override usage = 'healthcheck [URL…] [--file FILE] [flags]'

  static override flags = {
    file: Flags.string({
      char: 'f',
      multiple: true,
      multipleNonGreedy: true,
      helpValue: '<file>',
      summary: 'URLs, one a line; or a YAML check file (fanout\'s checks: or Gatus\'s endpoints:), or a directory of them (repeatable: merged as Gatus merges them).',
    }),
    validate: Flags.string({multiple: true, multipleNonGreedy: true, helpValue: '<file>', summary: 'Check YAML check files (or a directory) without running them, and exit.'}),
    // Non-greedy: a repeatable flag takes one value each time, so `-H 'Authorization: Bearer x' http://…/` leaves the URL alone.
    condition: Flags.string({char: 'C', multiple: true, multipleNonGreedy: true, helpValue: '<condition>', summary: 'A condition for the URLs given as arguments or in a URL list (repeatable).'}),
    header: Flags.string({char: 'H', multiple: true, multipleNonGreedy: true, helpValue: '<"Name: value">', summary: 'A request header for HTTP checks (repeatable).'}),
    insecure: Flags.boolean({char: 'k', summary: 'Do not verify TLS certificates (their expiry is still read).'}),
    ...engineFlags({workers: 64, mode: 'settle', timeout: '5s'}),
    'retry-delay': duration({summary: 'Delay before the first retry of a failing check; doubles with each retry.', default: 1000, defaultHelp: async () => '1s'}),
    'max-failures': count({summary: 'Unhealthy checks tolerated before exiting 1.', default: 0}),
    format: Flags.string({options: [...FORMATS], default: 'table', summary: 'Report format on stdout (or in --output).'}),
    output: Flags.string({char: 'o', helpValue: '<file>', summary: 'Write the report to this file (atomically) instead of stdout.'}),
    watch: duration({
      summary: 'Check again at this interval (at least 1s) until Ctrl-C; a terminal shows a live table, a pipe gets the changes, --json one document a line (NDJSON).',
    }),
    'max-body': size({summary: 'Most bytes of a response body read for conditions; a longer body fails its body conditions, saying so.', default: 16 * 1024 * 1024, defaultHelp: async () => '16MiB'}),
    'rdap-url': Flags.string({helpValue: '<url>', summary: 'RDAP service [DOMAIN_EXPIRATION] asks.', default: DEFAULT_RDAP_URL}),
    all: Flags.boolean({summary: 'List healthy checks too when there are more than 50.'}),
    ...shardFlags,
    ...outputFlags,
    ...metricsFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Healthcheck)
    // Faster than once a second is a load test on someone's backend, not a health check.
    if (flags.watch !== undefined && flags.watch < MIN_WATCH_MS) {
      throw new UsageError(`--watch expects at least 1s between rounds; got ${flags.watch}ms`)
    }
    if (flags.watch !== undefined) keepHeapNearLiveSize()
    const defaults: CheckDefaults = {
      timeoutMs: flags.timeout,
      retries: flags.retries,
      insecure: flags.insecure,
      headers: parseHeaders(flags.header ?? []),
    }
    if (flags.validate !== undefined) {
      const {checks, notes} = await loadCheckFiles(flags.validate, defaults)
      this.note(notes)
      this.report(`${flags.validate.join(', ')}: ${checks.length} check${checks.length === 1 ? '' : 's'}, valid`)
      return
    }
    const sharding = new Sharding(shardSpecOf(flags))
    const given = await this.checks(argv as string[], flags.file ?? [], defaults, flags.condition ?? [])
    const {items: checks, stamp} = sharding.take(given.checks, (check) => check.name, given.checks.map((check) => maskUrl(check.url)))
    if (flags.output !== undefined) await checkOutputPath('--output', flags.output)
    const format: Format = flags.json ? 'json' : (flags.format as Format)
    const options = {
      workers: flags.workers,
      mode: modeOf(flags, 'settle'),
      retryDelayMs: given.retryDelayMs ?? flags['retry-delay'],
      rate: flags.rate,
      maxRedirects: 10,
      maxBodyBytes: flags['max-body'],
      rdapUrl: flags['rdap-url'],
      signal: this.interruption.signal,
    }
    const live = format === 'table' && !flags.output && process.stdout.isTTY && flags.watch !== undefined
    const metrics = await this.openMetrics(flags, sharding.spec)
    // prom-client (under this module) is loaded only when a metrics flag asks for it; --format prometheus needs none.
    const prometheus = metrics && (await import('../src/health/prometheus.js'))
    const probes = metrics && prometheus && new prometheus.ProbeMetrics(metrics.registry, labelNames(checks))
    const schedule = new Schedule(checks, flags.watch ?? 0)
    // The status page's sparklines: response times of recent rounds, bounded per check.
    const times = format === 'html' ? new ResponseTimes() : undefined
    let last: Envelope<HealthResult> | undefined
    for (;;) {
      const due = schedule.due()
      const round = due.length === checks.length ? checks : due.map((index) => checks[index]!)
      const progress = live ? undefined : new Progress(sharding.label('healthcheck'), round.length, progressMode(flags.quiet))
      metrics?.engine.begin(round.length)
      const ran = stamped(await checkAll(round, {
        ...options,
        onLimit: followLimit(flags.workers, progress, metrics?.engine),
        onStart: metrics?.engine.onStart,
        onSettle: (index, outcome) => {
          progress?.settle(statusOf(outcome))
          metrics?.engine.onSettle(index, outcome)
        },
      }), sharding.runId, stamp)
      progress?.stop()
      const report = withCarriedOver(last, due, ran)
      // Ctrl-C mid-round in --watch: the last whole round stands, except in NDJSON, whose last line says it was interrupted.
      if (report.interrupted && last && format !== 'json') break
      metrics?.engine.end(report.summary.durationMs, report.ok)
      probes?.record(report)
      times?.record(report)
      await this.print(report, last, {format, output: flags.output, all: flags.all, live, stamp, times, watchMs: flags.watch})
      last = report
      if (flags.watch === undefined || report.interrupted) break
      if (live) this.report(`\nnext round in ${formatDuration(flags.watch)}; Ctrl-C to stop`)
      try {
        await abortableSleep(flags.watch, this.interruption.signal)
      } catch {
        // Ctrl-C between rounds: NDJSON readers get the last round again, marked, so the stream always ends interrupted.
        if (format === 'json') await this.print({...last, ok: false, interrupted: true}, undefined, {format, output: flags.output, all: flags.all, live, stamp})
        break
      }
    }
    const unhealthy = last!.summary.failed + last!.summary.cancelled
    this.finish(this.interrupted ? ExitCode.interrupted : unhealthy > flags['max-failures'] ? ExitCode.failed : ExitCode.ok)
    await this.closeMetrics(metrics)
  }

  private async checks(urls: string[], files: string[], defaults: CheckDefaults, conditions: string[]) {
    const checks: Check[] = checksFromUrls(
      urls.map((text, index) => ({text, where: `argument ${index + 1}`})),
      defaults,
      conditions,
    )
    let retryDelayMs: number | undefined
    // A URL list is any file that is not YAML; YAML files and directories are check files, loaded together.
    const configs: string[] = []
    for (const file of files) {
      if (file === '-' || !(/\.ya?ml$/i.test(file) || (await isDirectory(file)))) checks.push(...checksFromUrls(await readUrlFile(file), defaults, conditions))
      else configs.push(file)
    }
    if (configs.length > 0) {
      const loaded = await loadCheckFiles(configs, defaults)
      this.note(loaded.notes)
      checks.push(...loaded.checks)
      retryDelayMs = loaded.retryDelayMs
    }
    if (checks.length === 0) {
      throw new UsageError('no checks: give URLs as arguments, --file urls.txt (one a line) or --file checks.yaml')
    }
    return {checks, retryDelayMs}
  }

  /** What the check files hold that fanout does not use: once each, on stderr, so that nothing is dropped unsaid. */
  private note(notes: string[]): void {
    for (const line of notes) process.stderr.write(`fanout ${this.commandName}: ${line}\n`)
  }

  private async print(
    report: Envelope<HealthResult>,
    previous: Envelope<HealthResult> | undefined,
    options: {format: Format; output?: string; all: boolean; live: boolean; stamp: ShardStamp; times?: ResponseTimes; watchMs?: number},
  ): Promise<void> {
    let text: string
    if (options.format === 'json') text = JSON.stringify(report)
    else if (options.format === 'junit') text = renderJunit(report)
    else if (options.format === 'prometheus') text = renderPrometheus(report)
    // Under --watch the page reloads itself as often as it is rewritten.
    else if (options.format === 'html') text = renderHtml(report, {times: options.times, refreshSeconds: options.watchMs === undefined ? undefined : Math.max(1, Math.round(options.watchMs / 1000))})
    else if (previous && !options.live && !options.output) text = changes(previous, report).join('\n')
    else text = [renderHealth(report, {all: options.all}), describeShard(options.stamp, report.results.length)].filter(Boolean).join('\n')
    // A report that cannot be written to --output goes to stdout rather than nowhere.
    if (options.output && (await this.writeOutput('--output', options.output, `${text}\n`))) return
    if (options.live) process.stdout.write('\u001B[2J\u001B[H') // redraw in place
    this.report(text)
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (found) => found.isDirectory(),
    () => false,
  )
}

/** `-H "Authorization: Bearer x"` -> {authorization: 'Bearer x'}. */
function parseHeaders(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const value of values) {
    const colon = value.indexOf(':')
    if (colon < 1) throw new UsageError(`--header expects "Name: value"; got "${value}"`)
    headers[value.slice(0, colon).trim().toLowerCase()] = value.slice(colon + 1).trim()
  }
  return headers
}
