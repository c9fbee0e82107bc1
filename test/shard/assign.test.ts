import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/cli/errors.js'
import {share, shardOf, shardPositions, stableHash} from '../../src/shard/assign.js'
import {parseShard} from '../../src/shard/spec.js'
import {Sharding} from '../../src/shard/stamp.js'

const tenants = Array.from({length: 1000}, (_, i) => `tenant_${i}`)

describe('shard assignment', () => {
  it.each([1, 3, 7])('%i shards, by hash and by range, cover every input position exactly once', (count) => {
    for (const by of ['hash', 'range'] as const) {
      const seen = new Array<number>(tenants.length).fill(0)
      for (let index = 0; index < count; index++) {
        const positions = shardPositions(tenants, {index, count, by})
        expect(positions).toEqual([...positions].sort((a, b) => a - b)) // input order kept
        for (const position of positions) seen[position]!++
      }
      expect(seen.every((times) => times === 1), by).toBe(true)
    }
  })

  it('hash: a target keeps its shard whatever else the input holds, and duplicates land together', () => {
    const fewer = tenants.filter((_, i) => i % 3 !== 0)
    for (const name of fewer) expect(shardOf(name, 7)).toBe(shardOf(name, 7))
    const inFull = (name: string) => shardPositions(tenants, {index: shardOf(name, 7), count: 7, by: 'hash'}).map((p) => tenants[p])
    const inFewer = (name: string) => shardPositions(fewer, {index: shardOf(name, 7), count: 7, by: 'hash'}).map((p) => fewer[p])
    for (const name of fewer.slice(0, 50)) {
      expect(inFull(name)).toContain(name)
      expect(inFewer(name)).toContain(name)
    }
    const twice = ['a', 'b', 'a', 'c']
    const holder = shardOf('a', 3)
    expect(shardPositions(twice, {index: holder, count: 3, by: 'hash'})).toEqual(expect.arrayContaining([0, 2]))
  })

  it('hash: the same value in every process and version (a resumed migrate shard finds its namespaces), spread evenly', () => {
    // Fixed values: changing the hash would move every namespace of a half-done sharded migrate to another shard.
    expect(['', 'tenant_1', 'tenant_2', 'é'].map(stableHash)).toEqual([2872998923, 3235843577, 3254961235, 3136788073])
    const sizes = Array.from({length: 7}, (_, index) => shardPositions(tenants, {index, count: 7, by: 'hash'}).length)
    for (const size of sizes) expect(size).toBeGreaterThan(1000 / 7 / 1.4)
    for (const size of sizes) expect(size).toBeLessThan((1000 / 7) * 1.4)
  })

  it('share splits exactly, the remainder to the lowest indexes', () => {
    expect(Array.from({length: 7}, (_, i) => share(100, 7, i))).toEqual([15, 15, 14, 14, 14, 14, 14])
    expect(Array.from({length: 3}, (_, i) => share(2, 3, i))).toEqual([1, 1, 0])
  })

  it('range: consecutive blocks sized by share', () => {
    const ten = Array.from({length: 10}, (_, i) => String(i))
    expect([0, 1, 2].map((index) => shardPositions(ten, {index, count: 3, by: 'range'}))).toEqual([[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]])
  })

  it('--shard: INDEX/COUNT or auto from the Job\'s environment; anything else one line naming the fix', () => {
    expect(parseShard('2/7', 'hash')).toEqual({index: 2, count: 7, by: 'hash'})
    expect(parseShard('auto', 'range', {JOB_COMPLETION_INDEX: '6', JOB_COMPLETIONS: '7'})).toEqual({index: 6, count: 7, by: 'range'})
    for (const bad of ['7/7', '-1/3', '1/0', '1', 'a/b', '1/3/4', '']) {
      expect(() => parseShard(bad, 'hash'), bad).toThrow(UsageError)
      expect(() => parseShard(bad, 'hash')).toThrow(/--shard expects INDEX\/COUNT/)
    }
    expect(() => parseShard('auto', 'hash', {JOB_COMPLETION_INDEX: '1'})).toThrow('--shard auto: JOB_COMPLETIONS not set')
    expect(() => parseShard('auto', 'hash', {JOB_COMPLETION_INDEX: '3', JOB_COMPLETIONS: '3'})).toThrow(/got "auto \(JOB_COMPLETION_INDEX=3, JOB_COMPLETIONS=3\)"/)
  })

  it('the input digest is of the whole input: every shard of one run has the same, another input another', () => {
    const digests = [0, 1, 2].map((index) => new Sharding({index, count: 3, by: 'hash'}).take(tenants, (t) => t).stamp.input)
    expect(new Set(digests).size).toBe(1)
    expect(new Sharding(undefined).take(tenants, (t) => t).stamp.input).toBe(digests[0])
    expect(new Sharding(undefined).take(tenants.slice(1), (t) => t).stamp.input).not.toBe(digests[0])
    expect(new Sharding(undefined).take(['ab', 'c'], (t) => t).stamp.input).not.toBe(new Sharding(undefined).take(['a', 'bc'], (t) => t).stamp.input)
  })
})

describe('the progress line of a shard', () => {
  it('names the shard; an unsharded run keeps the plain label', async () => {
    const {Progress} = await import('../../src/report/progress.js')
    const {LoadProgress} = await import('../../src/load/load-progress.js')
    const sharded = new Sharding({index: 2, count: 7, by: 'hash'})
    expect(new Progress(sharded.label('exec'), 10, 'off').line()).toMatch(/^exec \[shard 2\/7\]: 0\/10 done/)
    expect(new LoadProgress(sharded.label('loadtest'), undefined, 'off').line()).toBe('loadtest [shard 2/7]: starting')
    expect(new Sharding(undefined).label('migrate')).toBe('migrate')
  })
})
