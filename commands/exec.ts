import {Flags} from '@oclif/core'

import {FanoutCommand} from '../src/cli/command.js'
import {UsageError} from '../src/cli/errors.js'
import {duration, engineFlags, followLimit, metricsFlags, modeOf, outputFlags} from '../src/cli/flags.js'
import {forkJoin} from '../src/engine/index.js'
import {argvFor, resolveExecutable} from '../src/exec/command-line.js'
import {runChild} from '../src/exec/child.js'
import {LinePrefixer} from '../src/exec/line-prefixer.js'
import {markIfOverloaded, parseExitCodes} from '../src/exec/overload.js'
import type {ChildResult} from '../src/exec/child.js'
import {execEnvelope, execResult, renderExecReport} from '../src/exec/report.js'
import {readTargets} from '../src/exec/targets.js'
import {exitCodeOf, statusOf} from '../src/report/envelope.js'
import {Progress, progressMode} from '../src/report/progress.js'
import {shardFlags, shardSpecOf} from '../src/shard/flags.js'
import {Sharding, describeShard, stamped} from '../src/shard/stamp.js'

export default class Exec extends FanoutCommand {
  static override summary = 'Run a command once per target, a bounded number at a time, and report each outcome.'

  static override description = [
    'A bounded, reporting xargs -P. CMD runs once per target with every {} in its arguments replaced by the target (appended as the last argument when there is no {}); FANOUT_TARGET and FANOUT_INDEX are set in its environment. Its output is captured: the report keeps the last lines of each stream.',
    'By default the first failure stops the run: targets not started are cancelled and running commands get SIGTERM, then SIGKILL after --kill-after (each command leads its own process group, so what it started stops too). Ctrl-C does the same, prints the partial report and exits 130.',
    'Exit codes: 0 every target succeeded; 1 some failed or were cancelled; 2 bad usage or input (nothing ran); 3 internal error; 130 interrupted.',
  ].join('\n\n')

  static override examples = [
    {description: 'Roll-out status in every namespace listed in a file, 8 at a time:', command: '<%= config.bin %> exec --targets namespaces.txt -- kubectl -n {} rollout status deploy/api'},
    {description: 'Keep going past failures, 20 at a time, 30 s per target, one retry:', command: '<%= config.bin %> exec --targets hosts.txt -w 20 --keep-going --timeout 30s --retries 1 -- ssh {} uptime'},
    {description: 'A machine-readable report:', command: '<%= config.bin %> exec -t a -t b --json -- sh -c \'echo "hello from $FANOUT_TARGET"\''},
  ]

  static override strict = false

  static override usage = 'exec (--targets FILE | --target X…) [flags] -- CMD [ARGS…]'

  static override flags = {
    targets: Flags.string({helpValue: '<file>', summary: 'File with one target per line (- reads stdin); blank lines and # comments are skipped.'}),
    target: Flags.string({char: 't', helpValue: '<target>', multiple: true, summary: 'A target (repeatable).'}),
    ...engineFlags({workers: 8, mode: 'fail-fast'}),
    stream: Flags.boolean({
      summary: 'Print each command\'s output as it comes, every line prefixed with its target (on stderr with --json).',
    }),
    'kill-after': duration({
      summary: 'How long a stopped command has between SIGTERM and SIGKILL.',
      default: 5000,
      defaultHelp: async () => '5s',
    }),
    'overload-exit-codes': Flags.custom<Set<number>>({
      helpValue: '<codes>',
      summary: 'Exit codes that mean the other side is overloaded (e.g. 75, or 22 for curl -f on a 503): the engine backs off, and with --workers auto the limit halves.',
      parse: async (input) => parseExitCodes(input),
    })(),
    'retry-after-from-stderr': Flags.boolean({
      summary: 'A failed command\'s "Retry-After: N" line on stderr (seconds) pauses every start that long and marks overload.',
    }),
    all: Flags.boolean({summary: 'List every target in the report, not only the failures, when there are more than 50.'}),
    ...shardFlags,
    ...outputFlags,
    ...metricsFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Exec)
    const template = argv as string[]
    if (template.length === 0) throw new UsageError('no command: put it after --, e.g. fanout exec --targets FILE -- echo {}')
    const sharding = new Sharding(shardSpecOf(flags))
    const {items: targets, stamp} = sharding.take(await readTargets(flags.targets, flags.target), (target) => target)
    const file = await resolveExecutable(template[0]!)
    const overload = {exitCodes: flags['overload-exit-codes'] ?? new Set<number>(), retryAfterFromStderr: flags['retry-after-from-stderr']}
    const metrics = await this.openMetrics(flags, sharding.spec)
    metrics?.engine.begin(targets.length)
    const progress = new Progress(sharding.label('exec'), targets.length, progressMode(flags.quiet))
    // One environment for the run, its two per-target variables set just before each spawn (which copies it at once):
    // spreading process.env per target reads every variable through Node's interceptor, a cost per target beside
    // the fork itself.
    const env: NodeJS.ProcessEnv = {...process.env}
    const streamTo = (stream: 'stdout' | 'stderr') => (text: string) =>
      (stream === 'stdout' && !flags.json ? process.stdout : process.stderr).write(text)
    const report = await forkJoin<string, ChildResult>(
      targets,
      async (target, ctx) => {
        const lines = flags.stream
          ? {stdout: new LinePrefixer(`${target} | `, streamTo('stdout')), stderr: new LinePrefixer(`${target} | `, streamTo('stderr'))}
          : undefined
        try {
          return await runChild(file, argvFor(template, target).slice(1), {
            signal: ctx.signal,
            timeoutMs: flags.timeout,
            killAfterMs: flags['kill-after'],
            env: Object.assign(env, {FANOUT_TARGET: target, FANOUT_INDEX: String(stamp.positions?.[ctx.index] ?? ctx.index)}),
            onOutput: lines && ((stream, chunk) => lines[stream].push(chunk)),
          })
        } catch (error) {
          throw markIfOverloaded(error, overload)
        } finally {
          lines?.stdout.end()
          lines?.stderr.end()
        }
      },
      {
        workers: flags.workers,
        onLimit: followLimit(flags.workers, progress, metrics?.engine),
        mode: modeOf(flags, 'fail-fast'),
        retries: flags.retries,
        rate: flags.rate,
        signal: this.interruption.signal,
        onStart: metrics?.engine.onStart,
        onSettle: (index, outcome) => {
          progress.settle(statusOf(outcome))
          metrics?.engine.onSettle(index, outcome)
        },
      },
    )
    progress.stop()
    const results = report.outcomes.map((outcome, index) => execResult(targets[index]!, outcome))
    const envelope = stamped(execEnvelope(results, report.durationMs, this.interrupted, report.workers), sharding.runId, stamp)
    this.report(flags.json ? JSON.stringify(envelope) : [renderExecReport(envelope, {all: flags.all}), describeShard(stamp, targets.length)].filter(Boolean).join('\n'))
    metrics?.engine.end(report.durationMs, envelope.ok)
    this.finish(exitCodeOf(envelope))
    await this.closeMetrics(metrics)
  }
}
