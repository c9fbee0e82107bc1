import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // @oclif/test's runCommand captures what commands print; vitest's own console interception would take it first.
    disableConsoleIntercept: true,
  },
})
