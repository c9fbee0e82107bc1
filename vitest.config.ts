import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A worker that dies mid-file says which file and why (vitest itself names neither).
    setupFiles: ['test/helpers/worker-exit.ts'],
    // Generous: CI and sessions share two cores; a limit is there to catch a hang, not to time anything.
    testTimeout: 60_000,
    // vitest's default on two cores is one file at a time; most files wait on the processes and servers they
    // start, so two at a time keep both cores busy (each file has its own databases, directories and ports).
    maxWorkers: 2,
    hookTimeout: 120_000,
    // @oclif/test's runCommand captures what commands print; vitest's own console interception would take it first.
    disableConsoleIntercept: true,
  },
})
