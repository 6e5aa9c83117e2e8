// Starting one of realm's per-run servers (broker, proxy) and closing it with every connection it holds.
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

export interface Listening {
  port: number
  close(): Promise<void>
}

/**
 * Tracks `server`'s connections, listens on a free port of `host`, and returns how to close it all. A connection
 * whose peer `accept` refuses is closed before a byte is read.
 */
export async function listen(
  server: http.Server,
  host: string,
  sockets = new Set<Duplex>(),
  accept?: (peer: string | undefined) => boolean,
): Promise<Listening> {
  server.on('connection', (socket) => {
    if (accept && !accept(socket.remoteAddress)) {
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  // Listening alone does not keep realm running: a command that fails before its run still exits.
  server.unref()
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
