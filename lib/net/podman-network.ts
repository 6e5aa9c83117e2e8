// How a container on Podman reaches realm's process on the host. Podman's default bridge (rootful) exists only
// while a container is attached to it, so realm cannot listen on its gateway before the run's container starts;
// rootless Podman has no bridge on the host at all. Both run a container on slirp4netns, whose NAT reaches the
// host's own addresses: realm listens on the host's address on its default route (what Podman names
// host.containers.internal), never on the host's loopback, which slirp4netns keeps closed. The enforcing modes
// need none of this: they take the relay path (relay-sidecar.ts), where the agent's namespace has no route out.
import { readFileSync } from 'node:fs'
import os from 'node:os'

/** The interface of the IPv4 default route in a /proc/net/route text (pure, for tests). */
export function defaultRouteInterface(routes: string): string | undefined {
  for (const line of routes.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/)
    if (iface && destination === '00000000' && mask === '00000000') return iface
  }
  return undefined
}

/** The `docker run` flag that puts a container on a network from which it reaches `podmanFacts`' host. */
export const PODMAN_NETWORK = ['--network', 'slirp4netns']

/** What realm knows of a Podman engine's network (one of net/engine.ts's EngineFacts). */
export type PodmanFacts = { kind: 'podman'; host: string; rootless: boolean } | { kind: 'unsupported'; why: string }

/**
 * This host's IPv4 address on its default route, where slirp4netns (Podman's, or a rootless Docker engine's)
 * reaches it, else undefined.
 */
export function defaultRouteAddress(routes = readRoutes(), interfaces = os.networkInterfaces()): string | undefined {
  const iface = defaultRouteInterface(routes)
  return iface ? interfaces[iface]?.find((i) => i.family === 'IPv4' && !i.internal)?.address : undefined
}

export function podmanFacts(rootless: boolean, routes = readRoutes(), interfaces = os.networkInterfaces()): PodmanFacts {
  const host = defaultRouteAddress(routes, interfaces)
  if (!host) return { kind: 'unsupported', why: 'this host has no IPv4 default route for a Podman container to reach realm on' }
  return { kind: 'podman', host, rootless }
}

function readRoutes(): string {
  try {
    return readFileSync('/proc/net/route', 'utf8')
  } catch {
    return ''
  }
}
