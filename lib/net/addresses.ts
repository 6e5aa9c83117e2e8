// Which addresses the proxy never connects to on the agent's behalf unless the user allowed that exact address:
// the host itself, its networks and its neighbours. A name that resolves to one of them (localhost, a rebinding
// DNS name, an internal host) is refused just the same, because the proxy connects to the address it checked.
import net from 'node:net'
import os from 'node:os'

const restricted = new net.BlockList()
for (const [prefix, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private (Docker's networks)
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  restricted.addSubnet(prefix, bits, 'ipv4')
}
for (const [prefix, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  restricted.addSubnet(prefix, bits, 'ipv6')
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:10.0.0.1), else the address itself. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped ? mapped[1] : address
}

/** Every address of this machine's interfaces (a service bound to 0.0.0.0 answers on each). */
function ownAddresses(): Set<string> {
  const own = new Set<string>()
  for (const list of Object.values(os.networkInterfaces())) for (const entry of list ?? []) own.add(unmapped(entry.address))
  return own
}

/**
 * A connection's peer is this machine itself, not another host: what realm's broker takes when it listens on an
 * address the network can reach (a rootless Docker engine's slirp4netns connects from this machine).
 */
export function fromThisMachine(peer: string | undefined): boolean {
  return peer !== undefined && ownAddresses().has(unmapped(peer))
}

/** Why the proxy must not connect to `address` (loopback, private, link-local, the host's own), or undefined. */
export function restrictedReason(address: string): string | undefined {
  const plain = unmapped(address)
  const family = net.isIP(plain)
  if (family === 0) return 'not an address'
  if (ownAddresses().has(plain)) return "one of this machine's own addresses"
  if (restricted.check(plain, family === 4 ? 'ipv4' : 'ipv6')) return 'a loopback, private or link-local address'
  return undefined
}
