import {describe} from 'vitest'

import {pgliteBackend, postgresBackend} from './backends.js'
import {historySuite} from './history-suite.js'

// Each CLI run starts a process (4-5 s on a loaded machine) and, on PGlite, opens the database anew.
describe('migrate history on PostgreSQL', {timeout: 120_000}, () => historySuite(postgresBackend))
describe('migrate history on PGlite', {timeout: 120_000}, () => historySuite(pgliteBackend))
