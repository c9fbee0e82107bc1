import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: CI and sessions share two cores; a limit is there to catch a hang, not to time anything.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // @oclif/test's runCommand captures what commands print; vitest's own console interception would take it first.
    disableConsoleIntercept: true,
  },
})
