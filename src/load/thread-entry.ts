import {parentPort, workerData} from 'node:worker_threads'

import type {LoadPlan} from './load-state.js'
import {runLoad} from './run-load.js'
import type {ThreadMessage} from './threads.js'

// A load thread: runs its share of the plan and reports ticks and its tally to the main thread.
const plan = workerData as LoadPlan
for (const request of plan.requests) {
  // Cloned as Uint8Arrays: Buffers again, over the same memory.
  request.bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.length)
  if (request.body) request.body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.length)
}
const stop = new AbortController()
parentPort!.on('message', (message) => message === 'stop' && stop.abort())
const post = (message: ThreadMessage) => parentPort!.postMessage(message)
const tally = await runLoad(plan, {signal: stop.signal, onTick: (snapshot) => post({type: 'tick', snapshot})})
post({type: 'done', tally})
parentPort!.close()
