/**
 * The floor for bench:healthcheck: the least a health checker can do — `workers` loops over the targets, each target
 * on a connection of its own (as each fanout check has), HTTP GET with the body read, TCP connect, one DNS question
 * over UDP; nothing recorded but a count. Prints {"ms": …, "ok": …} for the loop alone.
 *   node dist/bench/healthcheck-floor.js TARGETS_FILE WORKERS
 */
import {createSocket} from 'node:dgram'
import {readFile} from 'node:fs/promises'
import {get} from 'node:http'
import {connect} from 'node:net'

import * as dnsPacket from 'dns-packet'

const [file, workersText] = process.argv.slice(2)
const targets = (await readFile(file!, 'utf8')).split('\n').filter(Boolean)
const workers = Number(workersText)

function http(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    get(url, {agent: false}, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode === 200))
    }).on('error', () => resolve(false))
  })
}

function tcp(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.destroy()
      resolve(true)
    }).on('error', () => resolve(false))
  })
}

function dns(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('message', (message) => {
      socket.close()
      resolve(((dnsPacket.decode(message) as {rcode?: string}).rcode ?? 'NOERROR') === 'NOERROR')
    })
    socket.send(dnsPacket.encode({type: 'query', id: 1, questions: [{type: 'A', name: url.searchParams.get('name') ?? 'api.test'}]}), Number(url.port), url.hostname)
  })
}

function check(target: string): Promise<boolean> {
  if (target.startsWith('http')) return http(target)
  const url = new URL(target)
  return url.protocol === 'tcp:' ? tcp(url) : dns(url)
}

let next = 0
let ok = 0
const started = performance.now()
await Promise.all(
  Array.from({length: workers}, async () => {
    while (next < targets.length) if (await check(targets[next++]!)) ok++
  }),
)
console.log(JSON.stringify({ms: performance.now() - started, ok}))
