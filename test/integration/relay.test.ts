// realm-relay (docker/net/relay.c, compiled here) against realm's end of it (lib/net/relay.ts), on this machine's
// loopback with no container: what the agent can do to it from its side is open many connections at once, read
// slowly, half-close, and send a lot. Each must work, and stay within the relay's bounds.
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { type RelayEnd, serveRelay } from '../../lib/net/relay.js'
import { MAX_CONNS, WINDOW } from '../../lib/net/relay-frames.js'
import { tempDir } from '../helpers/realm.js'

const SOURCE = path.resolve(import.meta.dirname, '..', '..', 'docker', 'net', 'relay.c')
const gcc = await execa('gcc', ['--version'], { reject: false }).catch(() => undefined)
const skip = gcc?.exitCode === 0 ? false : 'SKIPPED: no gcc to build realm-relay'
if (skip && process.env.CI) throw new Error(skip)

/** A free port of this machine's loopback, for the relay to listen on. */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Sends `data` on a connection to `port`, half-closes, and reads everything that comes back. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const got: Buffer[] = []
    socket.on('data', (chunk: Buffer) => got.push(chunk))
    socket.on('end', () => resolve(Buffer.concat(got)))
    socket.on('error', reject)
    socket.end(data)
  })
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex')

describe('realm-relay and realm’s end of it', { skip, timeout: 120_000 }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> }
  let relayBin: string
  let server: net.Server
  let serverPort: number
  /** How the test's server answers a connection: by the first byte the client sends. */
  const served: net.Socket[] = []

  before(async () => {
    tmp = await tempDir('realm-relay-')
    relayBin = path.join(tmp.path, 'realm-relay')
    await execa('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', relayBin, SOURCE])
    // 'e': echo everything back, reversed in order of nothing (a plain echo), and end when the client ends.
    // 'b': send N megabytes (the next byte), then end.
    server = net.createServer({ allowHalfOpen: true }, (socket) => {
      served.push(socket)
      socket.once('data', (first: Buffer) => {
        if (first[0] === 0x62) {
          const megabytes = first[1]
          let left = megabytes
          const chunk = Buffer.alloc(1024 * 1024, 0x61)
          const write = () => {
            while (left > 0) {
              left--
              if (!socket.write(chunk)) return void socket.once('drain', write)
            }
            socket.end()
          }
          write()
          return
        }
        socket.write(first)
        socket.pipe(socket)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    serverPort = (server.address() as net.AddressInfo).port
  })

  after(async () => {
    server?.close()
    await tmp?.cleanup()
  })

  /** The relay, listening on a port of its own, carried to the test's server. */
  async function startRelay(): Promise<{ port: number; child: ChildProcessWithoutNullStreams; end: RelayEnd }> {
    const port = await freePort()
    const child = spawn(relayBin, [String(port)], { stdio: ['pipe', 'pipe', 'pipe'] })
    const end = serveRelay(child.stdout, child.stdin, [serverPort])
    await end.ready
    return { port, child, end }
  }

  test('a large exchange both ways comes through whole, half-close and all', async () => {
    const { port, child, end } = await startRelay()
    try {
      const data = randomBytes(8 * 1024 * 1024)
      const back = await exchange(port, Buffer.concat([Buffer.from('e'), data]))
      assert.equal(back.length, data.length + 1)
      assert.equal(sha(back.subarray(1)), sha(data))
    } finally {
      end.close()
      child.kill()
    }
  })

  test('many connections at once: all are served, never more than MAX_CONNS carried at a time', async () => {
    const { port, child, end } = await startRelay()
    let most = 0
    const watch = setInterval(() => {
      most = Math.max(most, end.connections())
    }, 5)
    try {
      const count = MAX_CONNS * 3
      const replies = await Promise.all(Array.from({ length: count }, (_, i) => exchange(port, Buffer.from(`e${i}`))))
      assert.deepEqual(
        replies.map((r) => r.toString()),
        Array.from({ length: count }, (_, i) => `e${i}`),
      )
      assert.ok(most <= MAX_CONNS, `at most ${MAX_CONNS} at once: ${most}`)
    } finally {
      clearInterval(watch)
      end.close()
      child.kill()
    }
  })

  test('a reader that stops holds up its own connection only, and what waits for it stays within the window', async () => {
    const { port, child, end } = await startRelay()
    const stalled = net.connect(port, '127.0.0.1')
    try {
      // 64 MB asked for and never read: the server can write only what the sockets and one window hold.
      stalled.pause()
      stalled.write(Buffer.from([0x62, 64]))
      await new Promise((resolve) => setTimeout(resolve, 500))
      const server = served.at(-1)
      assert.ok(server, 'the server has the connection')
      const written = server.bytesWritten - server.writableLength
      // The kernel's socket buffers on both sides of the relay and of realm's end, and one window, at most.
      assert.ok(written < 32 * 1024 * 1024, `the server could write only ${written} of 64 MB`)
      // Meanwhile another connection is served at once.
      const started = Date.now()
      const reply = await exchange(port, Buffer.from('ehello'))
      assert.equal(reply.toString(), 'ehello')
      assert.ok(Date.now() - started < 2000, 'not held up by the stalled one')
      // Once read, the stalled one completes.
      let total = 0
      stalled.on('data', (chunk: Buffer) => {
        total += chunk.length
      })
      stalled.resume()
      await new Promise((resolve) => stalled.once('end', resolve))
      assert.equal(total, 64 * 1024 * 1024)
      assert.ok(WINDOW <= 1024 * 1024)
    } finally {
      stalled.destroy()
      end.close()
      child.kill()
    }
  })

  test('the relay ends when realm’s end closes, and takes its listener with it', async () => {
    const { port, child, end } = await startRelay()
    const exited = new Promise((resolve) => child.once('exit', resolve))
    end.close()
    assert.equal(await exited, 0)
    const refused = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.on('connect', () => resolve('connected'))
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code))
    })
    assert.equal(refused, 'ECONNREFUSED')
  })
})
