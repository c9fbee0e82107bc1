import {constants} from 'node:fs'
import {access} from 'node:fs/promises'
import {delimiter, join} from 'node:path'

import {UsageError} from '../cli/errors.js'

export const PLACEHOLDER = '{}'

/** The argv for one target: every `{}` replaced by it, or — as xargs and GNU parallel do — it appended when none. */
export function argvFor(template: readonly string[], target: string): string[] {
  if (!template.some((arg) => arg.includes(PLACEHOLDER))) return [...template, target]
  return template.map((arg) => arg.replaceAll(PLACEHOLDER, target))
}

/** Checks once, before any target runs, that the command exists and can run: otherwise every target would fail alike. */
export async function resolveExecutable(command: string, path = process.env.PATH ?? ''): Promise<string> {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, command))
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // Try the next directory of PATH.
    }
  }
  throw new UsageError(
    command.includes('/')
      ? `command "${command}" does not exist or is not executable`
      : `command "${command}" not found on PATH; give its full path or fix PATH`,
  )
}
