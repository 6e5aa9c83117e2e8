// What the network sidecar is: a small container of realm's own (iptables and tcpdump, docker/net/) that holds
// the run's network namespace on the default bridge, closes everything there but realm's proxy and broker, and
// keeps the one capability the agent lacks. The agent's container joins that namespace
// (`--network container:<sidecar>`), which also costs it none of a bridge's setup. Pure: the docker CLI's argv
// (planSidecar) and the engine API's container (sidecarSpec) are the same container; sidecar.ts starts it one
// way or the other.
import { csvField } from '../container/plan.js'

/** Where the sidecar finds docker/net/ (mounted read-only): its script comes from realm, not from an image. */
export const NET_MOUNT = '/realm/net'

export interface SidecarPlan {
  name: string
  image: string
  /** realm's docker/net directory */
  netDir: string
  /** a relay sidecar (relay-plan.ts): no network but loopback, realm reached through realm-relay */
  relay?: boolean
}

/** The name Docker Desktop gives the host inside containers; its proxies forward it to the host's loopback. */
export const DESKTOP_HOST = 'host.docker.internal'

/**
 * The namespace's hosts file, which the agent's container shares: on Docker Desktop the agent's tools reach
 * realm by this name, which DNS (closed by the rules) cannot give them. Elsewhere it names the bridge's gateway,
 * closed but for realm's ports like any address; it is there because the sidecar starts before realm knows
 * which engine it talks to (net/start.ts).
 */
const HOSTS = [`${DESKTOP_HOST}:host-gateway`]

/** Only what the rules and the logger need: NET_ADMIN for iptables and NFLOG, SETUID/SETGID because tcpdump
 * changes to its own user on start. */
export const CAPS = ['NET_ADMIN', 'SETUID', 'SETGID']

/** No IPv6 in the namespace at all: a link-local address would reach the host (the rules also close IPv6). */
export const SYSCTLS: Record<string, string> = {
  'net.ipv6.conf.all.disable_ipv6': '1',
  'net.ipv6.conf.default.disable_ipv6': '1',
}

/** realm's own script; it reads its rules' line from stdin (firewall.sh). */
const COMMAND = ['sh', `${NET_MOUNT}/firewall.sh`]

/**
 * The docker CLI's flags of every sidecar (either path), as sidecarContainer's body has them: no IPv6, only the
 * sidecar's capabilities, no new privileges, and no log (realm reads the blocked attempts from the attached
 * stdout; the engine need not keep them).
 */
export const SIDECAR_FLAGS: readonly string[] = [
  ...Object.entries(SYSCTLS).flatMap(([key, value]) => ['--sysctl', `${key}=${value}`]),
  '--cap-drop',
  'ALL',
  ...CAPS.flatMap((cap) => ['--cap-add', cap]),
  '--security-opt',
  'no-new-privileges',
  '--log-driver',
  'none',
]

export function planSidecar(plan: SidecarPlan): string[] {
  const [entrypoint, ...args] = COMMAND
  return [
    'run',
    '--rm',
    '-i',
    '--name',
    plan.name,
    '--network',
    'bridge',
    ...HOSTS.flatMap((line) => ['--add-host', line]),
    ...SIDECAR_FLAGS,
    '--mount',
    ['type=bind', `src=${plan.netDir}`, `dst=${NET_MOUNT}`, 'readonly'].map(csvField).join(','),
    '--entrypoint',
    entrypoint,
    plan.image,
    ...args,
  ]
}

/**
 * The engine API's POST /containers/create body of a sidecar (either path): `command` run by sh from NET_MOUNT,
 * attached (its stdin realm's, StdinOnce), removed on exit, with only the sidecar's capabilities; `host`: the
 * network and mounts of its path.
 */
export function sidecarContainer(plan: SidecarPlan, command: readonly string[], host: Record<string, unknown>): Record<string, unknown> {
  const [entrypoint, ...args] = command
  return {
    Image: plan.image,
    Entrypoint: [entrypoint],
    Cmd: args,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    HostConfig: {
      AutoRemove: true,
      Sysctls: SYSCTLS,
      CapDrop: ['ALL'],
      CapAdd: CAPS,
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'none', Config: {} },
      ...host,
    },
  }
}

/** The body of the engine API's POST /containers/create for the same container as planSidecar's. */
export function sidecarSpec(plan: SidecarPlan): Record<string, unknown> {
  return sidecarContainer(plan, COMMAND, {
    NetworkMode: 'bridge',
    ExtraHosts: HOSTS,
    Mounts: [{ Type: 'bind', Source: plan.netDir, Target: NET_MOUNT, ReadOnly: true }],
  })
}
