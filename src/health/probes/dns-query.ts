import {createSocket} from 'node:dgram'
import type {LookupAddress} from 'node:dns'
import {once} from 'node:events'
import {connect as connectTcp, isIP} from 'node:net'
import {randomInt} from 'node:crypto'

import * as dnsPacket from 'dns-packet'
import type {Answer, Packet, RecordType} from 'dns-packet'

import type {Resolver} from '../types.js'
import {ProbeFailure} from './errors.js'

/** How long a lookup through a configured resolver may take when no signal says otherwise. */
const LOOKUP_TIMEOUT_MS = 5000

/**
 * One question to one DNS server, over UDP or TCP (RFC 1035 §4.2: TCP messages carry a two-byte length), with
 * dns-packet for the wire format. A UDP answer that comes back truncated (TC) is asked again over TCP, as resolvers do.
 */
export async function queryDns(server: Resolver, name: string, type: RecordType, signal: AbortSignal): Promise<Packet> {
  const question: Packet = {type: 'query', id: randomInt(0, 65_536), flags: dnsPacket.RECURSION_DESIRED, questions: [{type, name, class: 'IN'}]}
  const answer = server.protocol === 'tcp' ? await overTcp(server, question, signal) : await overUdp(server, question, signal)
  if (answer.id !== question.id) throw new ProbeFailure('protocol', `the DNS server answered another query (id ${answer.id}, asked ${question.id})`)
  if (server.protocol === 'udp' && (answer.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) return queryDns({...server, protocol: 'tcp'}, name, type, signal)
  return answer
}

async function overUdp(server: Resolver, question: Packet, signal: AbortSignal): Promise<Packet> {
  const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4')
  try {
    const reply = once(socket, 'message', {signal})
    socket.send(dnsPacket.encode(question), server.port, server.host)
    const [message] = (await reply) as [Buffer]
    return decode(message)
  } finally {
    socket.close()
  }
}

async function overTcp(server: Resolver, question: Packet, signal: AbortSignal): Promise<Packet> {
  const socket = connectTcp({host: server.host, port: server.port})
  const stop = () => socket.destroy()
  signal.addEventListener('abort', stop, {once: true})
  try {
    await once(socket, 'connect', {signal})
    socket.write(dnsPacket.streamEncode(question))
    let buffered = Buffer.alloc(0)
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) return decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)))
    }
    throw new ProbeFailure('reset', 'the DNS server closed the TCP connection before answering')
  } finally {
    signal.removeEventListener('abort', stop)
    socket.destroy()
  }
}

function decode(message: Buffer): Packet {
  try {
    return dnsPacket.decode(message)
  } catch (error) {
    throw new ProbeFailure('protocol', `the DNS server's answer is no DNS message (${(error as Error).message})`)
  }
}

/** An answer's data as text: an address, a name, TXT strings joined, an MX as "10 mail.example." */
export function answerText(answer: Answer): string {
  const data = (answer as {data?: unknown}).data
  if (typeof data === 'string') return data
  if (Buffer.isBuffer(data)) return data.toString()
  if (Array.isArray(data)) return data.map((part) => (Buffer.isBuffer(part) ? part.toString() : String(part))).join('')
  if (data && typeof data === 'object') {
    const record = data as Record<string, unknown>
    if (answer.type === 'MX') return `${record.preference} ${record.exchange}`
    if (answer.type === 'SRV') return `${record.priority} ${record.weight} ${record.port} ${record.target}`
    if (answer.type === 'SOA') return `${record.mname} ${record.rname} ${record.serial}`
  }
  return JSON.stringify(data)
}

/** Addresses of a host name from a given DNS server (A, AAAA or both): Gatus's `client.dns-resolver`. */
export async function resolveWith(server: Resolver, hostname: string, family?: 4 | 6): Promise<LookupAddress[]> {
  const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS)
  const types: RecordType[] = family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA']
  const answers = await Promise.all(types.map((type) => queryDns(server, hostname, type, signal)))
  const addresses = answers.flatMap((packet) =>
    (packet.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => ({address: answerText(a), family: a.type === 'A' ? 4 : 6})),
  )
  if (addresses.length === 0) {
    const rcode = rcodeOf(answers[0]!)
    throw Object.assign(new Error(`${hostname} does not resolve at ${server.protocol}://${server.host}:${server.port} (${rcode})`), {code: 'ENOTFOUND', hostname})
  }
  return addresses
}

/** The answer's RCODE as dns-packet decodes it (NOERROR, NXDOMAIN…); its types leave the field out. */
export function rcodeOf(packet: Packet): string {
  return (packet as {rcode?: string}).rcode ?? 'NOERROR'
}
