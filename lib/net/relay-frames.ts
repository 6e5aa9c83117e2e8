// The relay's frames (docker/net/relay.c is the other end; keep the two alike): type (1 byte), connection id
// (4 bytes, big-endian), payload length (4 bytes, big-endian), payload. Pure. What the relay sends is read as
// untrusted input: a frame is at most MAX_DATA bytes of payload, and anything else ends the reading.

export const FRAME = { HELLO: 1, OPEN: 2, DATA: 3, EOF: 4, CLOSE: 5, ACK: 6 } as const
export type FrameType = (typeof FRAME)[keyof typeof FRAME]

export const HEADER = 9
/** The largest payload either end sends or takes. */
export const MAX_DATA = 16384
/** The most bytes of one connection's DATA a sender may have unacknowledged (the relay says so in its HELLO). */
export const WINDOW = 256 * 1024
/** The most connections the relay carries at once (it says so in its HELLO). */
export const MAX_CONNS = 128

export interface Frame {
  type: FrameType
  id: number
  payload: Buffer
}

export function encodeFrame(type: FrameType, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_DATA) throw new Error(`a frame of ${payload.length} bytes is larger than ${MAX_DATA}`)
  const frame = Buffer.allocUnsafe(HEADER + payload.length)
  frame[0] = type
  frame.writeUInt32BE(id >>> 0, 1)
  frame.writeUInt32BE(payload.length, 5)
  payload.copy(frame, HEADER)
  return frame
}

/** An ACK's payload: `count` more bytes written. */
export function ackPayload(count: number): Buffer {
  const payload = Buffer.allocUnsafe(4)
  payload.writeUInt32BE(count >>> 0, 0)
  return payload
}

export class FrameError extends Error {}

/**
 * Cuts a byte stream into frames. Holds at most one frame's worth of bytes; throws FrameError on a frame type it
 * does not know or a payload larger than MAX_DATA (the stream is then beyond repair).
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Frame[] {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    const frames: Frame[] = []
    while (data.length >= HEADER) {
      const type = data[0]
      if (type < FRAME.HELLO || type > FRAME.ACK) throw new FrameError(`unknown frame type ${type}`)
      const length = data.readUInt32BE(5)
      if (length > MAX_DATA) throw new FrameError(`a frame of ${length} bytes is larger than ${MAX_DATA}`)
      if (data.length < HEADER + length) break
      // A copy: the frame outlives this chunk (it may wait for its socket's connect).
      frames.push({ type: type as FrameType, id: data.readUInt32BE(1), payload: Buffer.from(data.subarray(HEADER, HEADER + length)) })
      data = data.subarray(HEADER + length)
    }
    this.pending = Buffer.from(data)
    return frames
  }
}
