import {spawnSync} from 'node:child_process'

const HOOK = `
  const seen = new Set()
  export async function resolve(specifier, context, next) {
    const resolved = await next(specifier, context)
    const name = /.*node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(resolved.url)?.[1]
    if (name && !seen.has(name)) { seen.add(name); process._rawDebug('loaded ' + name) }
    return resolved
  }`
const REGISTER = `import {register} from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)})`

/** The npm packages a run of `bin` imports, in order, as a module-resolution hook sees them. */
export function packagesLoaded(bin: string, args: string[], cwd?: string): string[] {
  const result = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, bin, ...args], {cwd, encoding: 'utf8'})
  return result.stderr.split('\n').filter((line) => line.startsWith('loaded ')).map((line) => line.slice('loaded '.length))
}
