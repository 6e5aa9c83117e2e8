// Where the containers of a rootless engine reach realm's process. Such an engine keeps its containers in a
// network namespace of its own, joined to this machine by a user-mode network stack (slirp4netns) that makes each
// of their connections as an ordinary process here; its standard setup refuses this machine's loopback to them
// (rootlesskit's --disable-host-loopback). So realm listens on the address its default route leaves from, and
// takes only connections that come from this machine itself (the user-mode stack's do), not the network's.
import fs from 'node:fs'
import os from 'node:os'

import { isOwnAddress } from './addresses.js'

/** The interfaces that hold a default IPv4 route, from the text of /proc/net/route (pure, for tests). */
export function defaultRouteInterfaces(routeTable: string): string[] {
  const found: string[] = []
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/)
    if (iface && destination === '00000000' && mask === '00000000' && !found.includes(iface)) found.push(iface)
  }
  return found
}

function routeTable(): string {
  try {
    return fs.readFileSync('/proc/net/route', 'utf8')
  } catch {
    return ''
  }
}

/** The IPv4 address of the interface that holds the default route, else undefined. */
export function outwardAddress(table = routeTable(), interfaces = os.networkInterfaces()): string | undefined {
  for (const iface of defaultRouteInterfaces(table)) {
    const address = interfaces[iface]?.find((entry) => entry.family === 'IPv4' && !entry.internal)?.address
    if (address) return address
  }
  return undefined
}

/** A connection's peer is this machine itself (a rootless engine's user-mode network stack), not another host. */
export function fromThisMachine(peer: string | undefined): boolean {
  return peer !== undefined && isOwnAddress(peer)
}
