import {describe} from 'vitest'

import {pgliteBackend, postgresBackend} from './backends.js'
import {runtimeSuite} from './runtime-suite.js'

describe('migrate at run time on PostgreSQL', () => runtimeSuite(postgresBackend))
describe('migrate at run time on PGlite', () => runtimeSuite(pgliteBackend))
