import {randomUUID} from 'node:crypto'

import {Flags} from '@oclif/core'

import {FanoutCommand} from '../src/cli/command.js'
import {UsageError} from '../src/cli/errors.js'
import {count, outputFlags} from '../src/cli/flags.js'
import {readStdin} from '../src/cli/line-file.js'
import type {ExecResult} from '../src/exec/report.js'
import type {HealthResult} from '../src/health/result.js'
import {reportFlags} from '../src/load/flags.js'
import type {PreparedOutputs} from '../src/load/outputs.js'
import type {LoadDocument} from '../src/load/merge.js'
import type {Threshold} from '../src/load/thresholds.js'
import type {Migrated} from '../src/migrate/migrate-namespace.js'
import type {DatabaseSummary} from '../src/migrate/databases.js'
import type {NamespaceResult} from '../src/migrate/run-namespaces.js'
import {exitCodeOf} from '../src/report/envelope.js'
import type {Envelope, Result} from '../src/report/envelope.js'
import {ExitCode} from '../src/report/exit-codes.js'
import {jsonPieces, lineBlocks, terminated} from '../src/report/pieces.js'
import {checkOutputPath} from '../src/report/write-file.js'
import {readDocuments} from '../src/shard/documents.js'
import type {Named} from '../src/shard/documents.js'
import {checkShards} from '../src/shard/merge.js'
import type {Checked, MergeOptions} from '../src/shard/merge.js'
import {mergeItems} from '../src/shard/merge-items.js'
import type {ItemDocument} from '../src/shard/merge-items.js'
import {shortDigest, stamped} from '../src/shard/stamp.js'
import type {ShardStamp, Stamped} from '../src/shard/stamp.js'

const FORMATS = ['table', 'json', 'junit', 'prometheus', 'html'] as const
type Format = (typeof FORMATS)[number]

/**
 * What a merged run prints: its document (--json, --output), its report in the asked format, its exit code. The
 * report comes in pieces (a merge of 100,000 targets is tens of MB); `text` gives them afresh each time it is called.
 */
interface MergedRun {
  document: object
  text: (format: Format) => Iterable<string>
  exitCode: ExitCode
  /** loadtest: the --report page, written after the report is printed. */
  page?: () => Promise<string>
}

export default class Merge extends FanoutCommand {
  static override aliases = ['loadtest:merge']

  static override summary = 'Merge the --json / --output reports of a sharded run (--shard) into the report one run would have given.'

  static override description = [
    'FILE… are reports of exec, healthcheck, migrate or loadtest; - reads stdin. A file or stdin may hold many reports, one a line, as `kubectl logs -l job-name=JOB --tail=-1` prints a Job\'s pods: lines that are not JSON documents (progress, messages) are skipped; a line that starts with { and does not parse is refused.',
    'The reports must be of one command, one input (the digest of the targets, and of the migrations), one COUNT, each shard once: anything else is exit 2 naming the reports. A shard\'s interrupted report is superseded by a whole one of the same shard (Kubernetes retried it). --partial merges the shards there are and says which are missing; --force merges runs that are not one run (the same file twice, other URLs, paced with unpaced) and says so.',
    'The merge prints what one unsharded run prints: results in input order, the summary counted again, the exit code; loadtest\'s HDR histograms merge exactly and its counts add up (unsharded loadtest runs side by side merge too); healthcheck\'s JUnit, Prometheus and HTML status page formats come from the merged results.',
    'Exit codes: the merged run\'s (0 ok; 1 targets failed or a threshold breached; 130 a shard was interrupted); 2 a report is missing, repeated, foreign or corrupt; 3 internal error.',
  ].join('\n\n')

  static override examples = [
    {description: 'The shards of an Indexed Job, straight from its pods:', command: 'kubectl logs -l job-name=healthcheck --tail=-1 | <%= config.bin %> merge -'},
    {description: 'Shard files:', command: '<%= config.bin %> merge shard-0.json shard-1.json shard-2.json'},
    {description: 'Load shards, with a latency gate on the whole:', command: '<%= config.bin %> merge load-*.json --threshold "p99<100ms"'},
  ]

  static override strict = false

  static override usage = 'merge FILE…|- [flags]'

  static override flags = {
    partial: Flags.boolean({summary: 'Merge the shards there are when some are missing; the report names those missing.'}),
    force: Flags.boolean({summary: 'Merge reports that are not of one run (the same run twice, another input, paced with unpaced); the report says so.'}),
    format: Flags.string({options: [...FORMATS], default: 'table', summary: 'Report format on stdout (or in --output); junit, prometheus and html (the status page) for healthcheck.'}),
    output: Flags.string({char: 'o', helpValue: '<file>', summary: 'Write the merged report here (atomically): the JSON document (mergeable again), or junit/prometheus/html with --format.'}),
    threshold: Flags.string({multiple: true, multipleNonGreedy: true, helpValue: '<"p99<200ms">', summary: 'loadtest: gates on the merged figures (repeatable); by default the shards\' own.'}),
    ...reportFlags,
    'max-failures': count({summary: 'healthcheck: unhealthy checks tolerated before exiting 1.', default: 0}),
    all: Flags.boolean({summary: 'List every target, not only the exceptions, when there are more than 50.'}),
    ...outputFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Merge)
    const sources = argv as string[]
    if (sources.length === 0) throw new UsageError('no reports: give the shards\' files, or - to read them from stdin (kubectl logs -l job-name=JOB --tail=-1 | fanout merge -)')
    const format: Format = flags.json ? 'json' : (flags.format as Format)
    // Each command's merge and renderers are loaded when its reports come: a healthcheck merge needs no HDR histograms.
    const thresholds = flags.threshold ? flags.threshold.map((await import('../src/load/thresholds.js')).parseThreshold) : []
    if (flags.output !== undefined) await checkOutputPath('--output', flags.output)
    const {documents, skipped} = await readDocuments(sources, async () => (await readStdin()).toString('utf8'))
    if (skipped > 0 && !flags.quiet) process.stderr.write(`fanout merge: skipped ${skipped} line${skipped === 1 ? '' : 's'} that are not JSON documents (progress, messages)\n`)
    const command = documents[0]!.document.command
    if (format !== 'table' && format !== 'json' && command !== 'healthcheck') throw new UsageError(`--format ${format} is for healthcheck reports; these are ${command} reports`)
    if (command !== 'loadtest' && (flags.report !== undefined || flags.compare !== undefined)) throw new UsageError(`--report and --compare are for loadtest reports; these are ${command} reports`)
    const outputs = command === 'loadtest' ? await (await import('../src/load/outputs.js')).prepareOutputs(flags) : undefined
    const options: MergeOptions = {partial: flags.partial, force: flags.force}
    const run = await this.merge(command, documents, options, {thresholds, maxFailures: flags['max-failures'], all: flags.all, outputs})
    this.finish(run.exitCode)
    // A merged report that cannot be written to --output goes to stdout rather than nowhere.
    const written = flags.output !== undefined && (await this.writeOutput('--output', flags.output, terminated(run.text(format === 'table' ? 'json' : format))))
    if (!written || format === 'table') await this.reportPieces(run.text(format))
    if (flags.report !== undefined && run.page) await this.writeOutput('--report', flags.report, await run.page())
  }

  private async merge(
    command: string,
    documents: Named<Stamped>[],
    options: MergeOptions,
    settings: {thresholds: Threshold[]; maxFailures: number; all: boolean; outputs?: PreparedOutputs},
  ): Promise<MergedRun> {
    if (command === 'loadtest') {
      const [{checkLoadDocument, loadMergeRules, mergeLoadDocuments}, {compareWith, reportPage}, {renderLoad}] = await Promise.all([
        import('../src/load/merge.js'),
        import('../src/load/outputs.js'),
        import('../src/load/render.js'),
      ])
      const loads = documents as Named<LoadDocument>[]
      for (const {name, document} of loads) checkLoadDocument(document, name)
      const checked = checkShards(loads, loadMergeRules, options)
      // --report draws the merged run, --compare judges it against a baseline, as loadtest does a run.
      const report = compareWith(mergeLoadDocuments(checked.documents.map((named) => named.document), settings.thresholds), settings.outputs!)
      const first = checked.documents[0]!.document.shard
      const document = this.document(report, {...first, index: 0, count: 1}, checked)
      return {
        document,
        text: (format) => (format === 'json' ? jsonPieces(document) : [heading(checked, first, undefined), '\n', renderLoad(report)]),
        exitCode: report.interrupted ? ExitCode.interrupted : report.ok ? ExitCode.ok : ExitCode.failed,
        page: () => reportPage(report, settings.outputs!),
      }
    }
    if (command === 'exec') {
      const {renderExecReport} = await import('../src/exec/report.js')
      return this.items<ExecResult>(documents, options, (report) => renderExecReport(report), exitCodeOf)
    }
    if (command === 'migrate') {
      const {renderDatabases, renderMigrate} = await import('../src/migrate/render.js')
      const {summariseDatabases, withDatabases} = await import('../src/migrate/databases.js')
      // Over several databases each shard lists them all: their figures are counted again from the merged results.
      const listed = (documents[0]!.document as {databases?: DatabaseSummary[]}).databases
      const databases = listed && ((report: Envelope<NamespaceResult<Migrated>>) => summariseDatabases(listed, report.results))
      // A dry run's results say what each namespace would apply; a real run's, what it applied.
      return this.items<NamespaceResult<Migrated>>(
        documents,
        options,
        (report) =>
          [databases ? renderDatabases(databases(report)) : '', renderMigrate(report, {dryRun: report.results.some((result) => (result.pending?.length ?? 0) > 0), all: settings.all})]
            .filter(Boolean)
            .join('\n'),
        exitCodeOf,
        {},
        databases && ((report) => withDatabases(report, databases(report))),
      )
    }
    if (command === 'healthcheck') {
      const [{renderHealth}, {junitLines}, {prometheusLines}, {htmlPieces}] = await Promise.all([
        import('../src/health/render.js'),
        import('../src/health/junit.js'),
        import('../src/health/probe-series.js'),
        import('../src/health/html.js'),
      ])
      return this.items<HealthResult>(
        documents,
        options,
        (report) => renderHealth(report, {all: settings.all}),
        (report) => (report.interrupted ? ExitCode.interrupted : report.summary.failed + report.summary.cancelled > settings.maxFailures ? ExitCode.failed : ExitCode.ok),
        // The same documents a single run writes with --format: the status page of one round, without sparklines.
        {junit: (report) => lineBlocks(junitLines(report)), prometheus: (report) => lineBlocks(prometheusLines(report)), html: (report) => htmlPieces(report)},
      )
    }
    throw new UsageError(`${documents[0]!.name} is a ${command} report; fanout merge merges exec, healthcheck, migrate and loadtest reports`)
  }

  private items<R extends Result>(
    documents: Named<Stamped>[],
    options: MergeOptions,
    render: (report: Envelope<R>) => string,
    exitCode: (report: Envelope<R>) => ExitCode,
    formats: Partial<Record<Format, (report: Envelope<R>) => Iterable<string>>> = {},
    /** What the command's own report adds to the merged one (migrate: each database's figures). */
    extend: (report: Envelope<R>) => Envelope<R> = (report) => report,
  ): MergedRun {
    const checked = checkShards(documents as Named<ItemDocument<R>>[], {}, options)
    const {report, shard} = mergeItems(checked)
    const document = this.document(extend(report), shard, checked)
    return {
      document,
      text: (format) => {
        if (format === 'json') return jsonPieces(document)
        if (format !== 'table') return formats[format]!(report)
        return [heading(checked, shard, report.results.length), '\n', render(report)]
      },
      exitCode: exitCode(report),
    }
  }

  /** The merged document: stamped as one unsharded run of the same input, with how it was merged. */
  private document<D extends {command: string}>(report: D, shard: ShardStamp, checked: Checked<Stamped>) {
    const merged = {shards: checked.documents.length, of: checked.count, ...(checked.missing.length > 0 ? {missing: checked.missing} : {}), notes: checked.notes}
    return {...stamped(report, randomUUID(), shard), merged}
  }
}

/** `merged 7 of 7 shards (by hash) · 100 of 100 targets · input sha256:…`, then each note. */
function heading(checked: Checked<Stamped>, shard: ShardStamp, results: number | undefined): string {
  const shards = checked.count === 1 ? `${checked.documents.length} run${checked.documents.length === 1 ? '' : 's'} side by side` : `${checked.documents.length} of ${checked.count} shards (by ${shard.by})`
  const targets = results === undefined ? '' : ` · ${results} of ${shard.total} target${shard.total === 1 ? '' : 's'}`
  return [`merged ${shards}${targets} · input ${shortDigest(shard.input)}`, ...checked.notes].join('\n')
}
