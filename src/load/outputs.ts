import {readFile} from 'node:fs/promises'

import {UsageError} from '../cli/errors.js'
import {checkOutputPath} from '../report/write-file.js'
import {compare} from './compare.js'
import {htmlReport} from './html/page.js'
import type {LoadReport} from './report.js'

/** `--report FILE.html`, `--compare BASELINE.json` and `--tolerance`, as loadtest and loadtest merge take them. */
export interface OutputOptions {
  report?: string
  compare?: string
  tolerance: number
}

export interface PreparedOutputs extends OutputOptions {
  baseline?: LoadReport
}

/** A loadtest result file (`--output` or `--json`); anything else is a UsageError naming it (and the flag, if any). */
export async function readLoadReport(file: string, flag?: string): Promise<LoadReport> {
  const what = flag === undefined ? '' : `${flag}: `
  let report: LoadReport
  try {
    report = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new UsageError(`${what}cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a file written by loadtest --output`)
  }
  if (!report?.command?.startsWith?.('loadtest') || typeof report.tally?.histograms?.latency !== 'string' || typeof report.summary?.latency !== 'object') {
    throw new UsageError(`${what}"${file}" is not a loadtest result; give a file written by loadtest --output or --json`)
  }
  return report
}

/** Checked before any request: the baseline is read and is a loadtest result, the report's path can be written. */
export async function prepareOutputs(options: OutputOptions): Promise<PreparedOutputs> {
  if (options.report !== undefined) await checkOutputPath('--report', options.report)
  const baseline = options.compare === undefined ? undefined : await readLoadReport(options.compare, '--compare')
  return {...options, ...(baseline ? {baseline} : {})}
}

/** With --compare: the comparison, and a regression makes the run fail, as a breached threshold does. */
export function compareWith(report: LoadReport, prepared: PreparedOutputs): LoadReport {
  if (!prepared.baseline) return report
  report.comparison = compare(report, prepared.baseline, prepared.compare!, prepared.tolerance)
  if (report.comparison.regressed) report.ok = false
  return report
}

/** The --report page of this report (with the baseline's spectrum beside it under --compare). */
export function reportPage(report: LoadReport, prepared: PreparedOutputs): Promise<string> {
  return htmlReport(report, {baseline: prepared.baseline, comparison: report.comparison})
}
