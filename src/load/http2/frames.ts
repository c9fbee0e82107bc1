/** HTTP/2 frame types and flags (RFC 9113 §6) that a client reading responses meets. */
export const enum Frame {
  data = 0,
  headers = 1,
  priority = 2,
  rstStream = 3,
  settings = 4,
  pushPromise = 5,
  ping = 6,
  goaway = 7,
  windowUpdate = 8,
  continuation = 9,
}

export const END_STREAM = 0x1
export const ACK = 0x1
export const END_HEADERS = 0x4
export const PADDED = 0x8
export const PRIORITY = 0x20

export const FRAME_HEADER = 9
/** The largest window (2^31 - 1) and the default one every window starts at (RFC 9113 §6.9.2). */
export const MAX_WINDOW = 2 ** 31 - 1
export const DEFAULT_WINDOW = 65_535
export const DEFAULT_MAX_FRAME = 16_384

const ERROR_CODES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED']

/** An error code's name, for messages. */
export function errorName(code: number): string {
  return ERROR_CODES[code] ?? `error 0x${code.toString(16)}`
}

export const CANCEL = 8
export const PROTOCOL_ERROR = 1

/** A frame: its 9-byte header, then the payload. */
export function frame(type: Frame, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length)
  writeHeader(out, 0, payload.length, type, flags, streamId)
  out.set(payload, FRAME_HEADER)
  return out
}

export function writeHeader(out: Buffer, at: number, length: number, type: Frame, flags: number, streamId: number): void {
  out[at] = length >>> 16
  out[at + 1] = (length >>> 8) & 0xff
  out[at + 2] = length & 0xff
  out[at + 3] = type
  out[at + 4] = flags
  out.writeUInt32BE(streamId, at + 5)
}

/** The client's opening: the preface, SETTINGS (no push; the largest stream window) and the largest connection window. */
export function preface(): Buffer {
  const settings = Buffer.alloc(12)
  settings.writeUInt16BE(0x2, 0) // ENABLE_PUSH
  settings.writeUInt32BE(0, 2)
  settings.writeUInt16BE(0x4, 6) // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(MAX_WINDOW, 8)
  return Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(Frame.settings, 0, 0, settings), windowUpdate(0, MAX_WINDOW - DEFAULT_WINDOW)])
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4)
  payload.writeUInt32BE(increment, 0)
  return frame(Frame.windowUpdate, 0, streamId, payload)
}

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(4)
  payload.writeUInt32BE(code, 0)
  return frame(Frame.rstStream, 0, streamId, payload)
}

export function goaway(lastStreamId: number, code: number): Buffer {
  const payload = Buffer.alloc(8)
  payload.writeUInt32BE(lastStreamId, 0)
  payload.writeUInt32BE(code, 4)
  return frame(Frame.goaway, 0, 0, payload)
}
