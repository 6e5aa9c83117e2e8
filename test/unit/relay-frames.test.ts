// The relay's frames (lib/net/relay-frames.ts; docker/net/relay.c speaks the same), and realm's end of the relay
// against a relay that breaks the protocol: what comes from inside the sandbox is untrusted.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'

import { serveRelay } from '../../lib/net/relay.js'
import {
  ackPayload,
  encodeFrame,
  FRAME,
  type Frame,
  FrameError,
  FrameReader,
  HEADER,
  MAX_CONNS,
  MAX_DATA,
  WINDOW,
} from '../../lib/net/relay-frames.js'

test('a frame is its type, id and length, big-endian, then its payload', () => {
  const frame = encodeFrame(FRAME.DATA, 0x01020304, Buffer.from('hi'))
  assert.deepEqual([...frame], [3, 1, 2, 3, 4, 0, 0, 0, 2, 104, 105])
  assert.equal(encodeFrame(FRAME.EOF, 7).length, HEADER)
  assert.deepEqual([...ackPayload(WINDOW)], [0, 4, 0, 0])
  assert.throws(() => encodeFrame(FRAME.DATA, 1, Buffer.alloc(MAX_DATA + 1)))
})

test('frames are read back whole, however the stream cuts them', () => {
  const frames = [
    encodeFrame(FRAME.OPEN, 1, Buffer.from([0])),
    encodeFrame(FRAME.DATA, 1, Buffer.alloc(MAX_DATA, 7)),
    encodeFrame(FRAME.EOF, 1),
    encodeFrame(FRAME.ACK, 2, ackPayload(5)),
  ]
  const bytes = Buffer.concat(frames)
  for (const size of [1, 2, 9, 10, 1000, bytes.length]) {
    const reader = new FrameReader()
    const got: Frame[] = []
    for (let at = 0; at < bytes.length; at += size) got.push(...reader.push(bytes.subarray(at, at + size)))
    assert.deepEqual(
      got.map((f) => [f.type, f.id, f.payload.length]),
      [
        [FRAME.OPEN, 1, 1],
        [FRAME.DATA, 1, MAX_DATA],
        [FRAME.EOF, 1, 0],
        [FRAME.ACK, 2, 4],
      ],
      `in pieces of ${size}`,
    )
  }
})

test('a payload larger than MAX_DATA or an unknown type ends the reading at its header, before any payload is held', () => {
  const oversized = Buffer.alloc(HEADER)
  oversized[0] = FRAME.DATA
  oversized.writeUInt32BE(MAX_DATA + 1, 5)
  assert.throws(() => new FrameReader().push(oversized), FrameError)
  const huge = Buffer.from(oversized)
  huge.writeUInt32BE(0xffffffff, 5)
  assert.throws(() => new FrameReader().push(huge), FrameError)
  for (const type of [0, 7, 255]) {
    const frame = encodeFrame(FRAME.EOF, 1)
    frame[0] = type
    assert.throws(() => new FrameReader().push(frame), FrameError, `type ${type}`)
  }
})

/** realm's end with a relay of the test's own on the other side of two pipes, and a server as realm's proxy. */
async function withRelayEnd(
  run: (relay: { send: (f: Buffer) => void; frames: Frame[]; end: ReturnType<typeof serveRelay>; requests: string[] }) => Promise<void>,
) {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '')
    res.end('proxy\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const fromRelay = new PassThrough()
  const toRelay = new PassThrough()
  const frames: Frame[] = []
  const reader = new FrameReader()
  toRelay.on('data', (chunk: Buffer) => frames.push(...reader.push(chunk)))
  const end = serveRelay(fromRelay, toRelay, [(server.address() as AddressInfo).port])
  const hello = Buffer.alloc(12)
  hello.writeUInt32BE(WINDOW, 0)
  hello.writeUInt32BE(MAX_CONNS, 4)
  hello.writeUInt32BE(MAX_DATA, 8)
  fromRelay.write(encodeFrame(FRAME.HELLO, 0, hello))
  await end.ready
  try {
    await run({ send: (f) => fromRelay.write(f), frames, end, requests })
  } finally {
    end.close()
    server.close()
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

test("realm's end carries a connection to its server, answers within the window, and acknowledges what it wrote", async () => {
  await withRelayEnd(async ({ send, frames, requests }) => {
    send(encodeFrame(FRAME.OPEN, 1, Buffer.from([0])))
    const request = Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    send(encodeFrame(FRAME.DATA, 1, request))
    for (let i = 0; i < 40 && !frames.some((f) => f.type === FRAME.EOF); i++) await settle()
    assert.deepEqual(requests, ['/x'])
    const data = Buffer.concat(frames.filter((f) => f.type === FRAME.DATA && f.id === 1).map((f) => f.payload)).toString()
    assert.match(data, /^HTTP\/1.1 200 OK[\s\S]*proxy\n$/)
    const acked = frames.filter((f) => f.type === FRAME.ACK).reduce((sum, f) => sum + f.payload.readUInt32BE(0), 0)
    assert.equal(acked, request.length, 'every byte written is acknowledged')
    assert.ok(frames.some((f) => f.type === FRAME.EOF && f.id === 1))
  })
})

test('a relay that breaks the protocol is cut off with every connection it carried', async () => {
  const cases: Array<[string, (id: number) => Buffer[]]> = [
    ['an id that does not grow', (id) => [encodeFrame(FRAME.OPEN, id, Buffer.from([0])), encodeFrame(FRAME.OPEN, id, Buffer.from([0]))]],
    ['a frame for an id never opened', (id) => [encodeFrame(FRAME.DATA, id + 5, Buffer.from('x'))]],
    [
      'more DATA than the window',
      (id) => [
        encodeFrame(FRAME.OPEN, id, Buffer.from([0])),
        ...Array.from({ length: WINDOW / MAX_DATA + 1 }, () => encodeFrame(FRAME.DATA, id, Buffer.alloc(MAX_DATA))),
      ],
    ],
    [
      'an acknowledgement beyond the window',
      (id) => [encodeFrame(FRAME.OPEN, id, Buffer.from([0])), encodeFrame(FRAME.ACK, id, ackPayload(1))],
    ],
    ['a second greeting', () => [encodeFrame(FRAME.HELLO, 0, Buffer.alloc(12))]],
  ]
  for (const [what, frames] of cases) {
    await withRelayEnd(async ({ send, end }) => {
      for (const frame of frames(1)) send(frame)
      const why = await Promise.race([end.done, new Promise((resolve) => setTimeout(() => resolve('still running'), 2000))])
      assert.match(String(why), /broke its protocol/, what)
      assert.equal(end.connections(), 0, what)
    })
  }
})

test('realm carries at most MAX_CONNS connections; one more is refused with a CLOSE', async () => {
  await withRelayEnd(async ({ send, frames, end }) => {
    for (let id = 1; id <= MAX_CONNS + 1; id++) send(encodeFrame(FRAME.OPEN, id, Buffer.from([0])))
    await settle()
    assert.equal(end.connections(), MAX_CONNS)
    assert.deepEqual(
      frames.filter((f) => f.type === FRAME.CLOSE).map((f) => f.id),
      [MAX_CONNS + 1],
    )
    // A listener the relay does not have is refused the same way.
    send(encodeFrame(FRAME.CLOSE, 1))
    send(encodeFrame(FRAME.OPEN, MAX_CONNS + 2, Buffer.from([3])))
    await settle()
    assert.ok(frames.some((f) => f.type === FRAME.CLOSE && f.id === MAX_CONNS + 2))
  })
})
