import type {Probe} from '../types.js'
import {connect, targetFor} from './connect.js'
import {observe} from './observe.js'

/** tcp://host:port: something accepts connections there. Phases: dns (for a host name), connect. */
export const tcpProbe: Probe = (url, options) =>
  observe(options.signal, async (seen) => {
    const socket = await connect(targetFor(url, options), seen, options.signal)
    socket.destroy()
  })
