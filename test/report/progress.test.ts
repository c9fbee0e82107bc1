import {PassThrough} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'

import {describe, expect, it} from 'vitest'

import {Progress, progressMode} from '../../src/report/progress.js'

/** A stream standing in for stderr, with the terminal traits progress looks at. */
function fakeStderr(traits: {isTTY?: boolean; columns?: number}) {
  const stream = Object.assign(new PassThrough(), traits) as unknown as NodeJS.WriteStream & PassThrough
  let written = ''
  stream.on('data', (chunk) => (written += chunk))
  return {stream, written: () => written}
}

describe('progress', () => {
  it('picks a spinner only on a terminal with a width, plain lines otherwise, nothing when quiet', () => {
    expect(progressMode(false, fakeStderr({isTTY: true, columns: 120}).stream)).toBe('tty')
    expect(progressMode(false, fakeStderr({isTTY: true, columns: 0}).stream)).toBe('plain')
    expect(progressMode(false, fakeStderr({}).stream)).toBe('plain')
    expect(progressMode(true, fakeStderr({isTTY: true, columns: 120}).stream)).toBe('off')
  })

  it('prints done/total, failures, rate and ETA as plain lines at an interval', async () => {
    const {stream, written} = fakeStderr({})
    const progress = new Progress('exec', 10, 'plain', stream, 30)
    progress.settle('succeeded')
    progress.settle('failed')
    progress.settle('cancelled')
    await sleep(80)
    progress.stop()
    const lines = written().trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(1)
    expect(lines[0]).toMatch(/^exec: 3\/10 done · 1 failed · 1 cancelled · [\d.]+\/s · \S+ · ETA \S+$/)
    const after = written()
    await sleep(80)
    expect(written()).toBe(after) // stopped means silent
  })

  it('prints nothing at all when off', async () => {
    const {stream, written} = fakeStderr({})
    const progress = new Progress('exec', 2, 'off', stream, 10)
    progress.settle('succeeded')
    await sleep(40)
    progress.stop()
    expect(written()).toBe('')
  })
})
