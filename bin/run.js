#!/usr/bin/env node
// DNS lookups (getaddrinfo) run on libuv's thread pool, 4 threads by default: checking 200 hosts at once would
// queue behind them. It must be sized before the pool first starts, so before anything else is loaded.
process.env.UV_THREADPOOL_SIZE ??= '64'

// Errors are reported as one line; stacks only help with DEBUG=1. Capturing none spares the HTTP client the stack
// it records for each connection it closes (thousands in a healthcheck run).
if (!process.env.DEBUG) Error.stackTraceLimit = 0

// `fanout --version` answers before oclif loads (importing @oclif/core alone costs more than a bare node start), in
// oclif's own words: bin/version platform-arch node-version.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`fanout/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
  process.exit(0)
}

// Colour follows one rule (src/report/color.ts): FORCE_COLOR, else NO_COLOR, else a terminal. The libraries oclif and
// its plugins colour with also take CI=true as leave to colour a pipe; tell them no before they load. Commands run
// by exec inherit it: their output is captured, never shown on a terminal as it comes.
if (process.env.FORCE_COLOR === undefined && (process.env.NO_COLOR || (!process.stdout.isTTY && !process.stderr.isTTY) || process.env.TERM === 'dumb')) {
  process.env.FORCE_COLOR = '0'
}

// On import @oclif/core loads all of semver to check Node against oclif's own engines (not fanout's, which npm checks
// at install): a fifth of its import time at every start. Unset again after, so commands run by exec do not inherit it.
const engineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
const {execute, settings} = await import('@oclif/core')
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck

// The compiled CLI runs compiled commands whatever NODE_ENV says (oclif would look for TypeScript under test/development).
settings.enableAutoTranspile = false

// The plugins serve `fanout help …`, `fanout autocomplete …` and a mistyped command's "did you mean"; a run of one of
// fanout's own commands (`exec --help` included: command help is oclif's own) needs none of them, and loading their
// packages costs at every start. Any other words load them as usual.
const {existsSync, readFileSync} = await import('node:fs')
const {fileURLToPath} = await import('node:url')
const root = new URL('..', import.meta.url)
const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
if (namesOwnCommand(process.argv.slice(2))) pjson.oclif.plugins = []

await execute({loadOptions: {root: fileURLToPath(root), pjson}})
// Commands set process.exitCode and return, so that stdout is flushed before the process ends. Should anything
// still hold the event loop open (a backend that never closes its socket), end anyway, with that exit code.
setTimeout(() => process.exit(), 3000).unref()

/**
 * Whether the words name one of fanout's own commands: each word a compiled command file, up to a flag, `--`, the
 * end, or a command with no subcommands. A word that names no command (`migrate statsu`) is for the not-found plugin.
 */
function namesOwnCommand(words) {
  let path = 'dist/commands'
  for (const [index, word] of words.entries()) {
    if (!/^[a-z][a-z-]*$/.test(word)) return index > 0
    path += `/${word}`
    if (!existsSync(new URL(`${path}.js`, root))) return false
    if (!existsSync(new URL(path, root))) return true
  }
  return words.length > 0
}
