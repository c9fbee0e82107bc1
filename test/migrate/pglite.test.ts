import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {fanout, until} from '../helpers/cli.js'
import {names, pgliteBackend} from './backends.js'
import {sqlTextSuite} from './sql-text-suite.js'
import {migrateSuite} from './suite.js'

// Each CLI run opens PGlite anew (about a second): a test of a dozen runs needs more than the usual 30 s.
describe('fanout migrate on PGlite (the embedded default)', {timeout: 120_000}, () => {
  migrateSuite(pgliteBackend)
  describe('SQL text', () => sqlTextSuite(pgliteBackend))

  it('keeps a second process out of a PGlite directory in use (it would overwrite the first one\'s work)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-pglite-lock-'))
    try {
      await writeFile(join(dir, 'V1__slow.sql'), 'SELECT pg_sleep(0.05);\n')
      const database = `pglite://${join(dir, 'db')}`
      const args = ['migrate', '--database', database, '--dir', dir, '-n', names('l', 60).join(','), '--create-namespaces', '-q']
      const first = fanout(args)
      await until(() => existsSync(join(dir, 'db.lock')), 20_000)
      const second = await fanout(args)
      expect(second.code).toBe(2)
      expect(second.stderr.trim()).toMatch(/^fanout migrate: --database: PGlite in .* is in use by another fanout \(pid \d+\)/)
      expect((await first).code).toBe(0)
      expect(existsSync(join(dir, 'db.lock'))).toBe(false)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
