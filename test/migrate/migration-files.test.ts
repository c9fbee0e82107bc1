import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, expect, it} from 'vitest'

import {loadMigrations, parseVersion} from '../../src/migrate/migration-files.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-files-'))
})
afterEach(() => rm(dir, {recursive: true, force: true}))

it('orders versions numerically, segment by segment, and reads _ as .', async () => {
  for (const name of ['V1.10__c.sql', 'V1.2__b.sql', 'V2__d.sql', 'V1__a.sql', 'V1_11__e.sql', 'notes.txt']) await writeFile(join(dir, name), 'SELECT 1;\n')
  const migrations = await loadMigrations(dir)
  expect(migrations.map((migration) => migration.version)).toEqual(['1', '1.2', '1.10', '1.11', '2'])
  expect(migrations[3]).toMatchObject({script: 'V1_11__e.sql', description: 'e', transactional: true})
})

it('checksums ignore line endings and a BOM, not content; the no-transaction marker is read from the first line', async () => {
  await writeFile(join(dir, 'V1__unix.sql'), '-- fanout:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n')
  await writeFile(join(dir, 'V2__windows.sql'), '\uFEFF-- fanout:no-transaction\r\nCREATE INDEX CONCURRENTLY i ON t (c);\r\n')
  await writeFile(join(dir, 'V3__edited.sql'), '-- fanout:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (d);\n')
  const [unix, windows, edited] = await loadMigrations(dir)
  expect(windows!.checksum).toBe(unix!.checksum)
  expect(edited!.checksum).not.toBe(unix!.checksum)
  expect([unix, windows, edited].map((migration) => migration!.transactional)).toEqual([false, false, false])
})

it('a bad --target is a usage error naming the flag', () => {
  expect(parseVersion('1_2')).toEqual([1, 2])
  expect(() => parseVersion('v3')).toThrow('--target expects a version like 3 or 1.2; got "v3"')
})

it('a version or description longer than the history table keeps is a usage error naming the file', async () => {
  await writeFile(join(dir, `V1__${'d'.repeat(160)}.sql`), 'SELECT 1;\n')
  expect((await loadMigrations(dir))[0]!.description).toHaveLength(160)
  await writeFile(join(dir, `V2__${'d'.repeat(161)}.sql`), 'SELECT 1;\n')
  await expect(loadMigrations(dir)).rejects.toThrow(/V2__d+\.sql" has a description of 161 characters, over the 160 the history table keeps; shorten the file name/)
})

it('finds files in subfolders, as Flyway does, and reads R__ and B__ files as repeatable and baseline migrations', async () => {
  await mkdir(join(dir, 'tables', '2024'), {recursive: true})
  await mkdir(join(dir, 'views'))
  await writeFile(join(dir, 'tables', '2024', 'V2__orders.sql'), 'SELECT 2;\n')
  await writeFile(join(dir, 'tables', 'V1__accounts.sql'), 'SELECT 1;\n')
  await writeFile(join(dir, 'views', 'R__account_totals.sql'), 'SELECT 3;\n')
  await writeFile(join(dir, 'B2__baseline.sql'), 'SELECT 4;\n')
  await writeFile(join(dir, 'views', 'README.md'), 'not a migration\n')
  const migrations = await loadMigrations(dir)
  expect(migrations.map(({kind, version, script}) => ({kind, version, script}))).toEqual([
    {kind: 'versioned', version: '1', script: 'tables/V1__accounts.sql'},
    {kind: 'baseline', version: '2', script: 'B2__baseline.sql'},
    {kind: 'versioned', version: '2', script: 'tables/2024/V2__orders.sql'},
    {kind: 'repeatable', version: null, script: 'views/R__account_totals.sql'},
  ])
  expect(migrations[3]).toMatchObject({segments: [], description: 'account totals', file: join(dir, 'views', 'R__account_totals.sql')})
})

it('a .sql file named by no rule, a folder named like a migration and an undo file are usage errors naming them', async () => {
  await mkdir(join(dir, 'sub'))
  await writeFile(join(dir, 'V1__a.sql'), 'SELECT 1;\n')
  await writeFile(join(dir, 'sub', 'create_tables.sql'), 'SELECT 1;\n')
  await expect(loadMigrations(dir)).rejects.toThrow(`"${join(dir, 'sub', 'create_tables.sql')}" is not named V<version>__<description>.sql, R__<description>.sql or B<version>__<description>.sql`)
  await rm(join(dir, 'sub'), {recursive: true})
  await mkdir(join(dir, 'V2__dir.sql'))
  await expect(loadMigrations(dir)).rejects.toThrow(`"${join(dir, 'V2__dir.sql')}" is a directory named like a migration file; rename it`)
  await rm(join(dir, 'V2__dir.sql'), {recursive: true})
  await writeFile(join(dir, 'U1__a.sql'), 'DROP TABLE a;\n')
  await expect(loadMigrations(dir)).rejects.toThrow('is an undo migration; fanout has no undo: to reverse a change, write a new forward migration')
  await rm(join(dir, 'U1__a.sql'))
  await writeFile(join(dir, 'R__v.sql'), 'SELECT 1;\n')
  await mkdir(join(dir, 'more'))
  await writeFile(join(dir, 'more', 'R__v.sql'), 'SELECT 2;\n')
  await expect(loadMigrations(dir)).rejects.toThrow('have the same description; give each file its own')
})
