// realm's end of the relay (docker/net/relay.c runs the other end inside the agent's network namespace, which has
// no route out): every connection the agent opens to 127.0.0.1:<port> there comes over the relay's stream, and is
// carried to realm's proxy or broker, which listen on realm's loopback only. The frames (relay-frames.ts) come
// from inside the sandbox and are read as untrusted: ids only grow, a connection's DATA stays within its window,
// at most MAX_CONNS connections at once. A relay that breaks any of it is cut off, with every connection it
// carried: the agent loses its way out, never gains one.
import net from 'node:net'
import type { Readable, Writable } from 'node:stream'

import { ackPayload, encodeFrame, FRAME, type Frame, FrameReader, MAX_CONNS, MAX_DATA, WINDOW } from './relay-frames.js'

interface Carried {
  socket: net.Socket
  /** bytes realm may still send the relay for this connection */
  credit: number
  /** bytes of the socket's that wait for credit */
  waiting: Buffer[]
  /** bytes the relay sent that realm has not yet written to the socket */
  unwritten: number
  /** the socket ended: an EOF is owed once `waiting` is sent */
  ended: boolean
  eofSent: boolean
  /** the relay's EOF came: both ends sent theirs once eofSent too, and the relay has let go of its slot */
  relayEnded: boolean
}

export interface RelayEnd {
  /** Resolves once the relay listens (its HELLO); rejects when it ends or breaks the protocol first. */
  ready: Promise<void>
  /** Resolves when the relay's stream ends, with why when it was cut off. */
  done: Promise<string | undefined>
  /** connections carried now */
  connections(): number
  close(): void
}

/**
 * Serves the relay whose frames come on `fromRelay` and go on `toRelay`: a connection the relay opens on its
 * listener i is connected to `ports[i]` on `host` (realm's loopback).
 */
export function serveRelay(fromRelay: Readable, toRelay: Writable, ports: number[], host = '127.0.0.1'): RelayEnd {
  const carried = new Map<number, Carried>()
  const reader = new FrameReader()
  let lastId = 0
  let hello = false
  let blocked = false
  let finished = false
  let settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = { resolve, reject }
  })
  ready.catch(() => undefined) // the caller awaits it; an end before then is reported there
  let settleDone: (why: string | undefined) => void = () => undefined
  const done = new Promise<string | undefined>((resolve) => {
    settleDone = resolve
  })

  const send = (frame: Buffer) => {
    if (finished) return
    if (!toRelay.write(frame) && !blocked) {
      blocked = true
      for (const c of carried.values()) c.socket.pause()
    }
  }
  toRelay.on('drain', () => {
    blocked = false
    for (const c of carried.values()) if (c.waiting.length === 0 && c.credit > 0) c.socket.resume()
  })
  toRelay.on('error', () => finish('the stream to the relay failed'))

  /** Ends it all: every connection carried, the reading, the stream to the relay. */
  const finish = (why?: string) => {
    if (finished) return
    finished = true
    for (const c of carried.values()) c.socket.destroy()
    carried.clear()
    fromRelay.destroy()
    toRelay.end()
    settleReady?.reject(new Error(why ?? 'the relay ended before it listened'))
    settleDone(why)
  }

  /** Sends what waits for credit; the EOF once nothing waits; pauses the socket while anything does. */
  const pump = (id: number, c: Carried) => {
    while (c.waiting.length && c.credit > 0) {
      const head = c.waiting[0]
      const size = Math.min(head.length, c.credit, MAX_DATA)
      send(encodeFrame(FRAME.DATA, id, head.subarray(0, size)))
      c.credit -= size
      if (size === head.length) c.waiting.shift()
      else c.waiting[0] = head.subarray(size)
    }
    if (c.waiting.length) c.socket.pause()
    else if (!blocked && !c.ended) c.socket.resume()
    if (c.ended && !c.waiting.length && !c.eofSent) {
      c.eofSent = true
      send(encodeFrame(FRAME.EOF, id))
      if (c.socket.destroyed) carried.delete(id)
    }
  }

  const forget = (id: number, tell: boolean) => {
    const c = carried.get(id)
    if (!c) return
    carried.delete(id)
    c.socket.destroy()
    if (tell) send(encodeFrame(FRAME.CLOSE, id))
  }

  const open = (id: number, listener: number) => {
    const port = ports[listener]
    // The relay frees a slot once both ends have sent their EOF, a moment before realm's socket closes: such a
    // connection does not count against the relay's bound, though it counts against realm's own (twice that).
    let live = 0
    for (const c of carried.values()) if (!(c.eofSent && c.relayEnded)) live++
    if (live >= MAX_CONNS || carried.size >= 2 * MAX_CONNS || port === undefined) {
      send(encodeFrame(FRAME.CLOSE, id))
      return
    }
    const socket = net.connect({ host, port, allowHalfOpen: true })
    socket.setNoDelay(true)
    const c: Carried = { socket, credit: WINDOW, waiting: [], unwritten: 0, ended: false, eofSent: false, relayEnded: false }
    carried.set(id, c)
    if (blocked) socket.pause()
    socket.on('data', (chunk: Buffer) => {
      c.waiting.push(chunk)
      pump(id, c)
    })
    socket.on('end', () => {
      c.ended = true
      pump(id, c)
    })
    socket.on('error', () => undefined) // its close follows
    socket.on('close', (hadError) => {
      if (carried.get(id) !== c) return
      // Closed cleanly with everything sent: the relay has its EOF, and the id is done. Otherwise it is told.
      if (!hadError && c.eofSent) carried.delete(id)
      else if (hadError || !c.ended) forget(id, true)
    })
  }

  const take = (frame: Frame) => {
    const { type, id, payload } = frame
    if (!hello) {
      if (type !== FRAME.HELLO || payload.length !== 12) throw new Error('the relay did not greet first')
      const [window, conns, data] = [payload.readUInt32BE(0), payload.readUInt32BE(4), payload.readUInt32BE(8)]
      if (window !== WINDOW || conns !== MAX_CONNS || data !== MAX_DATA) throw new Error('the relay is of another version')
      hello = true
      settleReady?.resolve()
      return
    }
    if (type === FRAME.OPEN) {
      if (id <= lastId || payload.length !== 1) throw new Error('a connection id out of order')
      lastId = id
      open(id, payload[0])
      return
    }
    const c = carried.get(id)
    // A frame for a connection realm has let go of (they crossed) has nothing left to do; one for an id never
    // opened is the relay's mistake.
    if (!c) {
      if (id > lastId || type === FRAME.HELLO) throw new Error('a frame for a connection never opened')
      return
    }
    switch (type) {
      case FRAME.DATA: {
        c.unwritten += payload.length
        if (c.unwritten > WINDOW) throw new Error('more than the window')
        if (c.socket.destroyed || c.socket.writableEnded) return
        c.socket.write(payload, (error) => {
          c.unwritten -= payload.length
          if (!error && carried.get(id) === c) send(encodeFrame(FRAME.ACK, id, ackPayload(payload.length)))
        })
        return
      }
      case FRAME.ACK: {
        if (payload.length !== 4) throw new Error('a bad acknowledgement')
        c.credit += payload.readUInt32BE(0)
        if (c.credit > WINDOW) throw new Error('an acknowledgement beyond the window')
        pump(id, c)
        return
      }
      case FRAME.EOF:
        c.relayEnded = true
        c.socket.end()
        return
      case FRAME.CLOSE:
        forget(id, false)
        return
      default:
        throw new Error('an unexpected frame')
    }
  }

  let first: Buffer | undefined
  fromRelay.on('data', (chunk: Buffer) => {
    if (finished) return
    first ??= chunk
    try {
      for (const frame of reader.push(chunk)) take(frame)
    } catch (error) {
      // Before its greeting, what came is most likely the engine's own words (an exec that did not start).
      finish(hello ? `the relay broke its protocol: ${(error as Error).message}` : `the relay did not start: ${printable(first)}`)
    }
  })
  // Once it listens, the relay's stream ends only when realm closes it (finished first): otherwise it was lost.
  const lost = () => finish(hello ? 'the relay in the sidecar ended' : undefined)
  fromRelay.on('end', lost)
  fromRelay.on('close', lost)
  fromRelay.on('error', lost)

  return { ready, done, connections: () => carried.size, close: () => finish() }
}

/** The first line of `bytes` as text a terminal shows safely, at most 200 characters. */
function printable(bytes: Buffer): string {
  const line = bytes.toString('utf8').split('\n')[0] ?? ''
  return (
    line
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 200)
      .trim() || 'no greeting'
  )
}
