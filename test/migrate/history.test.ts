import {describe} from 'vitest'

import {pgliteBackend, postgresBackend} from './backends.js'
import {historySuite} from './history-suite.js'

// Each CLI run starts a process and, on PGlite, opens the database anew: 10-20 s a run at load 24 on 2 cores, so
// the suites' tests allow 300 s.
describe('migrate history on PostgreSQL', () => historySuite(postgresBackend))
describe('migrate history on PGlite', () => historySuite(pgliteBackend))
