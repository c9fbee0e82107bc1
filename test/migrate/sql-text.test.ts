import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, expect, it} from 'vitest'

import {loadMigrations, sqlFor, statementsFor} from '../../src/migrate/migration-files.js'
import {copyFromBlob, loadParser} from '../../src/migrate/sql-split.js'
import type {Migration} from '../../src/migrate/migration-files.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-sql-'))
})
afterEach(() => rm(dir, {recursive: true, force: true}))

async function one(sql: string, placeholders: Record<string, string> = {}, name = 'V1__a.sql'): Promise<Migration> {
  await writeFile(join(dir, name), sql)
  return (await loadMigrations(dir, {placeholders}))[0]!
}

it('splits with PostgreSQL\'s parser: dollar quotes, E\'\' strings, comments and semicolons inside them, each statement at its line', async () => {
  const migration = await one(`-- a comment; with a semicolon
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.note := 'a;b' || $$;$$; -- ;
  RETURN NEW;
END
$fn$;
/* block; comment */ SELECT E'it\\'s; fine', 'x'';y';;
DO $$ BEGIN PERFORM 1; END $$;
`)
  expect(migration.statements.map((statement) => statement.line)).toEqual([2, 8, 9])
  expect(statementsFor(migration, 'n').map((statement) => statement.sql)).toEqual([
    expect.stringMatching(/^CREATE FUNCTION touch\(\)[^]*\$fn\$$/),
    "SELECT E'it\\'s; fine', 'x'';y'",
    'DO $$ BEGIN PERFORM 1; END $$',
  ])
})

it('a file PostgreSQL cannot parse is a usage error naming file:line', async () => {
  await expect(one('SELECT 1;\n\nCREATE TABLE (;\n')).rejects.toThrow(/V1__a\.sql:3: syntax error at or near "\(" \(PostgreSQL's parser\); fix the SQL/)
})

it('a namespace goes into a string literal escaped as a literal, and as a name quoted only when needed', async () => {
  const migration = await one(`INSERT INTO \${namespace}.accounts (email) VALUES ('owner@\${namespace}.example');
CREATE INDEX idx_\${namespace}_email ON "\${namespace}".accounts (email);
SELECT E'\${namespace}\\n', 10 * \${count};
`, {count: '3'})
  const evil = "evil'); drop table victim.keep; --"
  expect(sqlFor(migration, evil)).toBe(`INSERT INTO "evil'); drop table victim.keep; --".accounts (email) VALUES ('owner@evil''); drop table victim.keep; --.example');
CREATE INDEX "idx_evil'); drop table victim.keep; --_email" ON "evil'); drop table victim.keep; --".accounts (email);
SELECT E'evil''); drop table victim.keep; --\\n', 10 * 3;
`)
  expect(sqlFor(migration, 'tenant_1')).toContain("INSERT INTO tenant_1.accounts (email) VALUES ('owner@tenant_1.example');\nCREATE INDEX idx_tenant_1_email ON \"tenant_1\".accounts")
  expect(sqlFor(migration, 'Tenant-A')).toContain('INSERT INTO "Tenant-A".accounts')
  expect(sqlFor(migration, 'a"b\\')).toContain(`ON "a""b\\".accounts (email);\nSELECT E'a"b\\\\\\n'`)
  expect(sqlFor(migration, 'user')).toContain('INSERT INTO "user".accounts') // a reserved word is quoted
})

it('inside dollar-quoted text a placeholder is read as the SQL of a body (quoted when needed), and no value may end the quote', async () => {
  const migration = await one(`DO $do$
BEGIN
  EXECUTE format('CREATE TABLE %I.t ()', '\${namespace}');
  INSERT INTO \${namespace}.log VALUES ($$\${namespace} ready$$);
END
$do$;
`)
  expect(sqlFor(migration, "O'Brien")).toContain(`format('CREATE TABLE %I.t ()', 'O''Brien');\n  INSERT INTO "O'Brien".log VALUES ($$"O'Brien" ready$$);`)
  expect(sqlFor(migration, 'tenant_1')).toContain(`'tenant_1');\n  INSERT INTO tenant_1.log VALUES ($$tenant_1 ready$$);`)
  expect(() => sqlFor(migration, 'x$do$; DROP TABLE victim.keep; --')).toThrow(/V1__a\.sql:3: the value of \$\{namespace\} contains \$do\$, which would end the dollar-quoted text/)
})

it('an unknown placeholder is a usage error naming file:line; one in a comment is left as written', async () => {
  await expect(one('-- uses ${whatever}\nSELECT 1;\nSELECT \'${tenant_plan}\';\n')).rejects.toThrow(
    /V1__a\.sql:3: unknown placeholder \$\{tenant_plan\}; give it with --placeholder tenant_plan=VALUE or under placeholders: in fanout\.yaml/,
  )
  const migration = await one("-- uses ${whatever}\nSELECT '${flyway:filename} ${flyway:defaultSchema} ${plan}';\n", {plan: 'gold'})
  expect(sqlFor(migration, 'n1')).toBe("-- uses ${whatever}\nSELECT 'V1__a.sql n1 gold';\n")
})

it('a transactional migration holding transaction control is refused at its line; in a body or a no-transaction file it is fine', async () => {
  await expect(one('CREATE TABLE part1 (id int);\nCOMMIT;\nCREATE TABLE part2 (id int);\nSELECT 1/0;\n')).rejects.toThrow(
    /V1__a\.sql:2: COMMIT in a migration that runs in a transaction would commit or undo part of it/,
  )
  await expect(one('CREATE TABLE a (id int);\n  COMMIT; BEGIN;\nCREATE TABLE b (id int);\n')).rejects.toThrow(/V1__a\.sql:2: COMMIT in a migration/)
  for (const statement of ['SAVEPOINT s', 'RELEASE SAVEPOINT s', 'ROLLBACK TO s', 'START TRANSACTION', 'END', 'ROLLBACK', 'BEGIN']) {
    await expect(one(`SELECT 1;\n${statement};\n`)).rejects.toThrow(/V1__a\.sql:2: [A-Z ]+ in a migration that runs in a transaction/)
  }
  const body = await one("CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\nDO $$ BEGIN ROLLBACK; END $$;\n")
  expect(body.transactional).toBe(true)
  expect((await one('-- fanout:no-transaction\nCOMMIT;\nVACUUM;\n')).transactional).toBe(false)
})

it('statements PostgreSQL runs only outside a transaction make the file run statement by statement', async () => {
  for (const statement of [
    'CREATE INDEX CONCURRENTLY i ON t (a)',
    'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)',
    'DROP INDEX CONCURRENTLY IF EXISTS i',
    'REINDEX INDEX CONCURRENTLY i',
    'REINDEX SCHEMA s',
    'VACUUM (ANALYZE) t',
    'ALTER SYSTEM SET work_mem = \'8MB\'',
    'CREATE DATABASE d',
    'DROP DATABASE d',
    'ALTER TABLE p DETACH PARTITION c CONCURRENTLY',
  ]) {
    const migration = await one(`CREATE TABLE IF NOT EXISTS t (a int);\n${statement};\n`)
    expect(migration.transactional, statement).toBe(false)
    expect(migration.statements[1]!.outside, statement).toMatch(/^[A-Z]/)
  }
  for (const statement of ['CREATE INDEX i ON t (a)', 'ANALYZE t', 'REFRESH MATERIALIZED VIEW CONCURRENTLY v', "SELECT 'VACUUM'"]) {
    expect((await one(`${statement};\n`)).transactional, statement).toBe(true)
  }
})

it('COPY … FROM stdin data is cut out before parsing and kept with its statement', async () => {
  const migration = await one(`CREATE TABLE plans (id int, name text);
COPY plans (id, name) FROM stdin;
1\tbasic; it's 'quoted'
2\t\${namespace}\\tgold
\\.
SELECT 'stdin;';
COPY plans FROM STDIN WITH (FORMAT csv);
3,"x"
\\.
`)
  const statements = statementsFor(migration, 'a\tb')
  expect(statements.map(({sql, line, copy}) => ({sql, line, copy}))).toEqual([
    {sql: 'CREATE TABLE plans (id int, name text)', line: 1, copy: undefined},
    {sql: 'COPY plans (id, name) FROM stdin', line: 2, copy: "1\tbasic; it's 'quoted'\n2\ta\\tb\\tgold\n"},
    {sql: "SELECT 'stdin;'", line: 6, copy: undefined},
    {sql: 'COPY plans FROM STDIN WITH (FORMAT csv)', line: 7, copy: '3,"x"\n'},
  ])
  await expect(one('COPY plans FROM stdin;\n1\tx\n')).rejects.toThrow(/V1__a\.sql:1: COPY … FROM stdin has no "\\\." line/)
})

it('PGlite reads COPY data from a Blob: FROM stdin becomes FROM \'/dev/blob\', and a column named stdin stays', async () => {
  await loadParser()
  expect(copyFromBlob('COPY t (stdin, b) FROM STDIN WITH (FORMAT csv)')).toBe("COPY t (stdin, b) FROM '/dev/blob' WITH (FORMAT csv)")
})
