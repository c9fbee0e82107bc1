// Imported rather than read from globalThis, where Node defines `performance` behind a getter.
import {performance} from 'node:perf_hooks'

/** A reading is shared only while the readings before it all came within this span of each other. */
const NEAR_MS = 0.02
/** The most calls one reading serves; also the most settles a long synchronous stretch can leave short. */
export const MOST_SHARED = 16

let reading = 0
let shared = 0
let allowance = 0
let turnWatched = false

/**
 * performance.now() for the engine's start and settle stamps, read once per few calls while calls come
 * microseconds apart.
 *
 * A clock read costs ~40 ns on Node 20, about half of what a bare pool spends on a whole no-op task, and the engine
 * takes a stamp per task. When a reading comes within 20 µs of the one before, the next calls share it (1, then 3,
 * 7, up to 16 of them); a wider gap turns sharing off, and so does the end of the turn (the synchronous run and its
 * microtasks), so a task that waited on I/O or a timer always gets a fresh reading. A task that settles without
 * yielding gets a reading at most 16 calls old, which is exact to microseconds unless a task between computed for
 * long: after the first such stretch, the few calls still sharing the older reading are short by it, once.
 */
export function now(): number {
  if (shared < allowance) {
    shared++
    return reading
  }
  const previous = reading
  reading = performance.now()
  shared = 0
  allowance = reading - previous < NEAR_MS ? Math.min(MOST_SHARED, allowance * 2 + 1) : 0
  if (allowance > 0 && !turnWatched) {
    turnWatched = true
    process.nextTick(endTurn)
  }
  return reading
}

/** A nextTick queued from a microtask runs once the microtask queue has drained: before any I/O or timer. */
function endTurn(): void {
  turnWatched = false
  allowance = 0
}
