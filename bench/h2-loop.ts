/**
 * The bare node:http2 loop bench:loadtest measures fanout's HTTP/2 against: CONNECTIONS sessions, each keeping
 * STREAMS requests in flight for SECONDS, counting responses; prints {"rps": …}. Run by bench/loadtest.ts.
 * Usage: node dist/bench/h2-loop.js URL CONNECTIONS STREAMS SECONDS
 */
import {connect} from 'node:http2'

const [url = '', connections = '10', streams = '10', seconds = '10'] = process.argv.slice(2)
const deadline = performance.now() + Number(seconds) * 1000
let completed = 0

function loop(session: ReturnType<typeof connect>, done: () => void): void {
  if (performance.now() >= deadline) return done()
  const stream = session.request({':path': new URL(url).pathname})
  stream.on('response', () => {})
  stream.resume()
  stream.on('end', () => {
    completed++
    loop(session, done)
  })
  stream.on('error', () => loop(session, done))
}

const started = performance.now()
await Promise.all(
  Array.from({length: Number(connections)}, async () => {
    const session = connect(url, {rejectUnauthorized: false})
    await Promise.all(Array.from({length: Number(streams)}, () => new Promise<void>((resolve) => loop(session, resolve))))
    session.close()
  }),
)
console.log(JSON.stringify({rps: (completed / (performance.now() - started)) * 1000}))
