#!/usr/bin/env node
import {execute, settings} from '@oclif/core'

// The compiled CLI runs compiled commands whatever NODE_ENV says (oclif would look for TypeScript under test/development).
settings.enableAutoTranspile = false

await execute({dir: import.meta.url})
