import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {Ajv2020} from 'ajv/dist/2020.js'
import type {ValidateFunction} from 'ajv/dist/2020.js'
import {expect} from 'vitest'

import {ROOT} from './cli.js'

const SCHEMAS = join(ROOT, 'schemas')

/** Every schema in schemas/, compiled once: an unknown keyword (a typo) is an error; types may come through $ref. */
const ajv = new Ajv2020({allErrors: true, strict: true, strictTypes: false, validateFormats: false})
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')))
}

/** `migrate status` -> schemas/migrate-status.schema.json: one schema per command, subcommands included. */
export function schemaFileOf(command: string): string {
  return `${command.replaceAll(' ', '-')}.schema.json`
}

export function validatorFor(command: string): ValidateFunction {
  const validate = ajv.getSchema(`https://fanout.invalid/schemas/${schemaFileOf(command)}`)
  if (!validate) throw new Error(`no schema for command "${command}" in schemas/ (expected ${schemaFileOf(command)})`)
  return validate
}

/** The errors ajv finds in `doc` against the schema its `command` names, one line each; [] when valid. */
export function schemaErrors(doc: unknown): string[] {
  const command = (doc as {command?: unknown})?.command
  if (typeof command !== 'string') return ['document has no "command" string']
  const validate = validatorFor(command)
  if (validate(doc)) return []
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`)
}

/** Fails the test unless `doc` (a parsed --json document) is valid against the schema for its `command`. */
export function expectSchemaValid<T>(doc: T): T {
  expect(schemaErrors(doc), `--json document of ${String((doc as {command?: unknown})?.command)} against schemas/`).toEqual([])
  return doc
}

/** Parses one --json document printed on stdout and checks it against its schema. */
export function parseJsonDocument<T = any>(stdout: string): T {
  return expectSchemaValid(JSON.parse(stdout) as T)
}
