import {readFile} from 'node:fs/promises'

import {UsageError} from '../cli/errors.js'
import {YamlFile} from '../cli/yaml-node.js'
import {BUILT_IN} from './placeholders.js'

const KEY = /^[A-Za-z0-9_.-]+$/
const DEFAULT_CONFIG = 'fanout.yaml'

/**
 * The placeholders' values of a run: the `placeholders:` map of `--config FILE` (or of ./fanout.yaml when there is
 * one), overridden by each `--placeholder key=value`. A bad entry is a UsageError naming where it was given.
 */
export async function placeholderValues(flags: {config?: string; placeholder?: string[]}): Promise<Record<string, string>> {
  const values: Record<string, string> = {}
  const file = flags.config ?? DEFAULT_CONFIG
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (flags.config !== undefined || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`--config: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? error}); give a YAML file with a placeholders: map`)
    }
  }
  if (text !== undefined) {
    const config = new YamlFile(file, text).root.value
    const map = (config as {placeholders?: unknown} | null)?.placeholders
    if (map !== undefined && map !== null) {
      if (typeof map !== 'object' || Array.isArray(map)) throw new UsageError(`${file}: placeholders: must be a map of name: value; got ${JSON.stringify(map)}`)
      for (const [key, value] of Object.entries(map)) {
        if (!['string', 'number', 'boolean'].includes(typeof value)) throw new UsageError(`${file}: placeholders.${key} must be a string or number; got ${JSON.stringify(value)}`)
        values[checkedKey(key, `${file}: placeholders.${key}`)] = String(value)
      }
    }
  }
  for (const entry of flags.placeholder ?? []) {
    const equals = entry.indexOf('=')
    if (equals < 1) throw new UsageError(`--placeholder expects key=value (e.g. --placeholder plan=gold); got "${entry}"`)
    values[checkedKey(entry.slice(0, equals), `--placeholder ${entry}`)] = entry.slice(equals + 1)
  }
  return values
}

function checkedKey(key: string, where: string): string {
  if (BUILT_IN.includes(key)) throw new UsageError(`${where}: \${${key}} is built in (it is the namespace, or what Flyway gives it); use another name`)
  if (!KEY.test(key)) throw new UsageError(`${where}: a placeholder name is letters, digits, _ . and -; got "${key}"`)
  return key
}
