// Writes oclif.manifest.json: the commands' ids, flags and help read once at pack time, so that `fanout --version`
// and help load no command module. The same Plugin loader `oclif manifest` uses, without the oclif packaging CLI and
// its dependencies. Run after the build (prepack); postpack removes the file again, so that a development tree never
// runs with a stale manifest.
import {writeFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'

import {Plugin, settings} from '@oclif/core'

// The compiled commands, whatever NODE_ENV says: under test or development oclif would list the TypeScript sources.
settings.enableAutoTranspile = false

const root = fileURLToPath(new URL('..', import.meta.url))
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
await plugin.load()
const manifest = plugin.manifest
if (Object.keys(manifest.commands).length === 0) throw new Error('no commands found: build first (npm run build)')
await writeFile(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(manifest, null, 2)}\n`)
console.log(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands`)
