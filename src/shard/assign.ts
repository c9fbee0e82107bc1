import type {ShardSpec} from './spec.js'

/**
 * A 32-bit hash of a target's identity that every process, machine and Node version computes alike: FNV-1a over
 * the UTF-16 code units, then murmur3's finaliser so that names differing in one trailing character (tenant_1,
 * tenant_2…) spread over all shards rather than clustering.
 */
export function stableHash(identity: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < identity.length; i++) {
    hash ^= identity.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

/** The shard a target belongs to under `--shard-by hash`: the same for the same identity and COUNT, always. */
export function shardOf(identity: string, count: number): number {
  return stableHash(identity) % count
}

/** Part `i` of `total` split `parts` ways, exactly: the remainder goes to the lowest parts. */
export function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0)
}

/**
 * The input positions this shard works on, in input order. `hash`: each target by the stable hash of its identity
 * (duplicates land together, so they are reported as an unsharded run reports them). `range`: consecutive blocks
 * of input order, sized by `share`. Either way the shards of one COUNT cover every position exactly once.
 */
export function shardPositions(identities: readonly string[], spec: ShardSpec): number[] {
  const positions: number[] = []
  if (spec.by === 'range') {
    let start = 0
    for (let i = 0; i < spec.index; i++) start += share(identities.length, spec.count, i)
    const end = start + share(identities.length, spec.count, spec.index)
    for (let position = start; position < end; position++) positions.push(position)
    return positions
  }
  for (let position = 0; position < identities.length; position++) {
    if (shardOf(identities[position]!, spec.count) === spec.index) positions.push(position)
  }
  return positions
}
