import {appendFileSync, writeSync} from 'node:fs'

import {afterAll, beforeAll, expect} from 'vitest'

// vitest reports a test worker that dies mid-file only as "Worker exited unexpectedly", naming neither the file
// nor why. This setup file makes such a death say both on stderr: the file, the exit code or signal, and the
// stack of whoever called process.exit(); also appended to $FANOUT_TEST_WORKER_EXITS, which .ci/run prints last
// (CI's log keeps only its tail). Only while a file runs: vitest itself ends idle workers with SIGTERM.
const state = globalThis as {fanoutWorkerExitWatch?: {file?: string}}
if (!state.fanoutWorkerExitWatch) {
  const watch: {file?: string} = {}
  state.fanoutWorkerExitWatch = watch
  const say = (line: string) => {
    if (watch.file === undefined) return
    const said = `\n[test worker ${process.pid}, ${watch.file}] ${line}\n`
    try {
      writeSync(2, said)
      if (process.env.FANOUT_TEST_WORKER_EXITS) appendFileSync(process.env.FANOUT_TEST_WORKER_EXITS, said)
    } catch {
      // stderr is gone: nothing left to tell.
    }
  }
  const exit = process.exit.bind(process)
  process.exit = ((code?: number | string | null) => {
    say(`process.exit(${code ?? ''}) called at:\n${new Error('exit').stack}`)
    return exit(code)
  }) as typeof process.exit
  // Any exit while a file runs is a death: vitest ends a worker only between files.
  process.on('exit', (code) => say(`exiting with code ${code}`))
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      say(`received ${signal}`)
      process.off(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

beforeAll(() => {
  state.fanoutWorkerExitWatch!.file = expect.getState().testPath ?? '(a test file)'
})
afterAll(() => {
  state.fanoutWorkerExitWatch!.file = undefined
})
