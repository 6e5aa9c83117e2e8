// What the network sidecar is: a small container of realm's own (iptables and tcpdump, docker/net/) that joins
// the network namespace of the agent's container with the one capability the agent lacks, and closes everything
// there but realm's proxy and broker. Pure: the docker CLI's argv (planSidecar) and the engine API's container
// (sidecarSpec) are the same container; sidecar.ts starts it one way or the other.
import { csvField } from '../container/plan.js'

/** Where the sidecar finds docker/net/ (mounted read-only): its script comes from realm, not from an image. */
const NET_MOUNT = '/realm/net'

export interface SidecarPlan {
  name: string
  image: string
  /** realm's docker/net directory */
  netDir: string
  /** realm's address as containers see it: an IPv4 address, or a name the sidecar resolves once */
  host: string
  /** the ports of the proxy and the broker */
  ports: number[]
  /** the agent's container, whose network namespace the sidecar joins (it must be running) */
  target: string
}

/** Only what the rules and the logger need: NET_ADMIN for iptables and NFLOG, SETUID/SETGID because tcpdump
 * changes to its own user on start. */
const CAPS = ['NET_ADMIN', 'SETUID', 'SETGID']

function command(plan: SidecarPlan): string[] {
  return ['sh', `${NET_MOUNT}/firewall.sh`, plan.host, ...plan.ports.map(String)]
}

export function planSidecar(plan: SidecarPlan): string[] {
  const [entrypoint, ...args] = command(plan)
  return [
    'run',
    '--rm',
    '-i',
    '--name',
    plan.name,
    // The agent's container holds the namespace (on the default bridge, with IPv6 disabled: see egress.ts);
    // joining it costs none of a bridge's setup.
    '--network',
    `container:${plan.target}`,
    '--cap-drop',
    'ALL',
    ...CAPS.flatMap((cap) => ['--cap-add', cap]),
    '--security-opt',
    'no-new-privileges',
    // realm reads the blocked attempts from the attached stdout; the engine need not keep them.
    '--log-driver',
    'none',
    '--mount',
    ['type=bind', `src=${plan.netDir}`, `dst=${NET_MOUNT}`, 'readonly'].map(csvField).join(','),
    '--entrypoint',
    entrypoint,
    plan.image,
    ...args,
  ]
}

/** The body of the engine API's POST /containers/create for the same container as planSidecar's. */
export function sidecarSpec(plan: SidecarPlan): Record<string, unknown> {
  const [entrypoint, ...args] = command(plan)
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
      NetworkMode: `container:${plan.target}`,
      CapDrop: ['ALL'],
      CapAdd: CAPS,
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'none', Config: {} },
      Mounts: [{ Type: 'bind', Source: plan.netDir, Target: NET_MOUNT, ReadOnly: true }],
    },
  }
}
