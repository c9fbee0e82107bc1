import {describe} from 'vitest'

import {pgliteBackend} from './backends.js'
import {migrateSuite} from './suite.js'

describe('fanout migrate on PGlite (the embedded default)', () => {
  migrateSuite(pgliteBackend)
})
