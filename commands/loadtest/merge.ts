import {readFile} from 'node:fs/promises'

import {Args, Flags} from '@oclif/core'

import {FanoutCommand} from '../../src/cli/command.js'
import {UsageError} from '../../src/cli/errors.js'
import {outputFlags} from '../../src/cli/flags.js'
import {renderLoad} from '../../src/load/render.js'
import {loadReport} from '../../src/load/report.js'
import type {LoadReport} from '../../src/load/report.js'
import {mergeTallies} from '../../src/load/tally.js'
import {parseThreshold} from '../../src/load/thresholds.js'
import {ExitCode} from '../../src/report/exit-codes.js'
import {checkOutputPath} from '../../src/report/write-file.js'

export default class LoadtestMerge extends FanoutCommand {
  static override summary = 'Merge loadtest results (--output or --json files) from several shards or machines into one report.'

  static override description = [
    'Counts add up and the HDR histograms merge exactly, so the percentiles are those of all requests together — not an average of percentiles. The measured span is the longest of the runs (shards run side by side), so req/s is the fleet\'s total.',
    'Exit codes: 0 merged, every threshold met; 1 a threshold breached; 2 an unreadable or foreign file; 3 internal error.',
  ].join('\n\n')

  static override examples = ['<%= config.bin %> loadtest merge shard-0.json shard-1.json shard-2.json --threshold "p99<100ms"']

  static override strict = false

  static override args = {files: Args.string({description: 'Result files written by loadtest --output (or --json).', required: true})}

  static override flags = {
    threshold: Flags.string({multiple: true, helpValue: '<"p99<200ms">', summary: 'Gates to check on the merged figures (repeatable), as in loadtest.'}),
    output: Flags.string({char: 'o', helpValue: '<file>', summary: 'Write the merged result here (mergeable again).'}),
    ...outputFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(LoadtestMerge)
    const thresholds = (flags.threshold ?? []).map(parseThreshold)
    if (flags.output !== undefined) await checkOutputPath('--output', flags.output)
    const reports = await Promise.all((argv as string[]).map(readReport))
    const first = reports[0]!
    const shards = reports.reduce((sum, report) => sum + (report.config.shards ?? 1), 0)
    const paced = reports.every((report) => report.config.rate !== undefined)
    const config = {...first.config, shards, rate: paced ? reports.reduce((sum, report) => sum + report.config.rate!, 0) : undefined}
    if (!paced) delete config.rate
    const merged = loadReport('loadtest merge', mergeTallies(reports.map((report) => report.tally)), config, thresholds, false)
    this.report(flags.json ? JSON.stringify(merged) : `${shards} results merged\n${renderLoad(merged)}`)
    this.finish(merged.ok ? ExitCode.ok : ExitCode.failed)
    if (flags.output !== undefined) await this.writeOutput('--output', flags.output, `${JSON.stringify(merged)}\n`)
  }
}

async function readReport(file: string): Promise<LoadReport> {
  let report: LoadReport
  try {
    report = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new UsageError(`cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give files written by loadtest --output`)
  }
  if ((report?.command !== 'loadtest' && report?.command !== 'loadtest merge') || typeof report.tally?.histograms?.latency !== 'string') {
    throw new UsageError(`"${file}" is not a loadtest result; give files written by loadtest --output or --json`)
  }
  return report
}
