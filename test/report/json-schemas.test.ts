import {readdirSync} from 'node:fs'
import {join, relative} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT} from '../helpers/cli.js'
import {schemaErrors, schemaFileOf} from '../helpers/json-schema.js'

/** Every command as typed, from the files under commands/: `migrate/status.ts` -> `migrate status`. */
function commands(dir = join(ROOT, 'commands')): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? commands(join(dir, entry.name)) : [relative(join(ROOT, 'commands'), join(dir, entry.name)).replace(/\.ts$/, '').replaceAll('/', ' ')],
  )
}

const exec = (result: object) => ({
  command: 'exec',
  ok: false,
  summary: {total: 1, succeeded: 0, failed: 1, cancelled: 0, durationMs: 1.5},
  results: [{target: 'a', status: 'failed', attempts: 1, durationMs: 1.2, exitCode: 1, signal: null, stdout: [], stderr: [], ...result}],
})

const migrateStatus = (result: object) => ({
  command: 'migrate status',
  ok: true,
  summary: {total: 1, succeeded: 1, failed: 0, cancelled: 0, durationMs: 3},
  results: [{target: 'tenant_1', status: 'succeeded', attempts: 1, durationMs: 2, version: '3', drift: [], ...result}],
})

describe('schemas/: one JSON Schema per command', () => {
  it('has a schema for every command, subcommands included', () => {
    const names = readdirSync(join(ROOT, 'schemas'))
    expect(commands().length).toBeGreaterThanOrEqual(8)
    for (const command of commands()) expect(names, command).toContain(schemaFileOf(command))
  })

  it('takes the documents the commands print', () => {
    expect(schemaErrors(exec({error: {code: 'exit', message: 'exited with 1'}}))).toEqual([])
    expect(schemaErrors(migrateStatus({pending: ['4', '5']}))).toEqual([])
  })

  it('refuses the shapes that differed between commands: an error as a string, pending as a number, a subcommand named as its parent', () => {
    expect(schemaErrors(exec({error: 'exited with 1'})).join('\n')).toMatch(/\/results\/0\/error must be object/)
    expect(schemaErrors(migrateStatus({pending: 2})).join('\n')).toMatch(/\/results\/0\/pending must be array/)
    expect(schemaErrors({...migrateStatus({}), command: 'migrate'})).toEqual([])
    expect(schemaErrors({...migrateStatus({}), command: 'migrate status', results: [{target: 'x'}]}).join('\n')).toMatch(/must have required property 'status'/)
    expect(schemaErrors(exec({surprise: 1})).join('\n')).toMatch(/must NOT have unevaluated properties/)
    expect(() => schemaErrors({command: 'nope', ok: true})).toThrow(/no schema for command "nope"/)
  })
})
