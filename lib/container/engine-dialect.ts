// Where the engines differ in what realm asks of them, in one pure place: planFor(kind) gives the few pieces
// of the `run` command line that are not the same on Docker and on Podman (its own CLI, or Docker's CLI on
// Podman's Docker-compatible socket). Everything else in the plan (container/plan.ts) is the same for both.
import { MOUNT } from '../run/protocol.js'
import { csvField } from './csv.js'

/** What realm knows of the engine it drives (container/engine-kind.ts finds it out). */
export interface EngineKind {
  engine: 'docker' | 'podman'
  /** Podman's own CLI (podman run), rather than Docker's CLI on Podman's socket */
  podmanCli: boolean
  /** a rootless engine: the container's uid 0 is the user who runs the engine */
  rootless: boolean
}

export const DOCKER: EngineKind = { engine: 'docker', podmanCli: false, rootless: false }

/** realm's own hard limits on open files and processes (/proc/self/limits), which a Podman container must not exceed. */
export interface HostLimits {
  nofile?: number
  nproc?: number
}

/** The layers of an overlay: lower ones (topmost first), and a writable upper one with its work dir, if any. */
export interface OverlayLayers {
  lower: string[]
  upper?: string
  work?: string
}

export interface EnginePlan {
  /**
   * The `--mount` flag of an overlay at `target`. Docker: an anonymous volume of the local driver, which `--rm`
   * removes with the container, read-only when it has no upper layer. `readonly` asks for a read-only view.
   */
  overlay(target: string, layers: OverlayLayers, readonly: boolean): string[]
  /** Whether a read-only view needs a scratch upper layer of its own (Podman cannot mount one without). */
  readonlyNeedsUpper: boolean
  /**
   * The flags that run the container as the user, so that what it writes on the host is the user's; `userns`: a
   * container whose user namespace it joins (made with sidecarArgs), else one of its own.
   */
  user(user: { uid: number; gid: number } | undefined, userns?: string): string[]
  /** Flags for a network sidecar whose namespaces the agent's container joins. */
  sidecarArgs: string[]
  /** Flags that only this engine needs (its ulimits), for every container realm runs there. */
  extra: string[]
  /** The same ulimits as the engine API's HostConfig.Ulimits. */
  ulimits: Array<{ Name: string; Soft: number; Hard: number }>
  /** Where the workspace is mounted, and the agent works. */
  workspaceDir: string
  /** Options that give a copy workspace's tmpfs to the user, where the engine would leave it to another uid */
  workspaceTmpfs(user: { uid: number; gid: number } | undefined): string
  /** Why this engine cannot be given an overlay (the workspace's, or the project's view that hides files) */
  overlayProblem?: string
}

/**
 * Podman gives every rootful container 1048576 open files and processes, which it may not raise to where the
 * host's hard limits are lower (a host without CAP_SYS_RESOURCE, as in many CI sandboxes: "error setting rlimit
 * type 7: operation not permitted"); Podman itself lowers its own processes' limit to 32768 at start. These are
 * the ceilings realm asks for instead: no more than Podman and realm itself have.
 */
export const PODMAN_NOFILE = 1048576
export const PODMAN_NPROC = 32768

function overlayOptions(layers: OverlayLayers): string {
  const parts = [`lowerdir=${layers.lower.join(':')}`]
  if (layers.upper && layers.work) parts.push(`upperdir=${layers.upper}`, `workdir=${layers.work}`)
  return `o=${parts.join(',')}`
}

const dockerPlan: EnginePlan = {
  overlay(target, layers) {
    // Docker refuses `readonly` on an anonymous volume; an overlay of lower layers alone, without an upper
    // one, is read-only in the kernel.
    const fields = [
      'type=volume',
      `dst=${target}`,
      'volume-driver=local',
      'volume-nocopy=true',
      'volume-opt=type=overlay',
      'volume-opt=device=overlay',
      `volume-opt=${overlayOptions(layers)}`,
    ]
    return ['--mount', fields.map(csvField).join(',')]
  },
  readonlyNeedsUpper: false,
  user: (user) => (user ? ['--user', `${user.uid}:${user.gid}`] : []),
  sidecarArgs: [],
  extra: [],
  ulimits: [],
  workspaceDir: MOUNT.workspace,
  workspaceTmpfs: () => '',
}

/**
 * Podman: its --mount knows neither `volume-driver` nor `volume-nocopy` (an anonymous volume with options is
 * the local driver's, and one that is not empty is not copied into), and it chowns a new volume's root, which
 * fails on an overlay without an upper layer; a read-only view gets a scratch upper layer and `ro`.
 */
function podmanPlan(kind: EngineKind, limits: HostLimits): EnginePlan {
  const nofile = Math.min(limits.nofile ?? PODMAN_NOFILE, PODMAN_NOFILE)
  const nproc = Math.min(limits.nproc ?? PODMAN_NPROC, PODMAN_NPROC)
  const ulimits = [
    { Name: 'nofile', Soft: nofile, Hard: nofile },
    { Name: 'nproc', Soft: nproc, Hard: nproc },
  ]
  return {
    overlay(target, layers, readonly) {
      const fields = [
        'type=volume',
        `dst=${target}`,
        'volume-opt=type=overlay',
        'volume-opt=device=overlay',
        `volume-opt=${overlayOptions(layers)}`,
      ]
      if (readonly) fields.push('ro')
      return ['--mount', fields.map(csvField).join(',')]
    },
    readonlyNeedsUpper: true,
    user(user, userns) {
      if (!kind.rootless) return dockerPlan.user(user)
      // Rootless: the user's own uid inside is the user's outside only with keep-id (Podman's CLI). Docker's CLI
      // knows no keep-id; there the container's root is the user on the host, in a namespace of its own.
      if (!kind.podmanCli) return ['--user', '0:0']
      // A sidecar's network namespace belongs to its user namespace: the container joins both (the sidecar's is
      // keep-id too), since one in a namespace of its own may not mount /sys there.
      const namespace = ['--userns', userns ? `container:${userns}` : 'keep-id']
      return user ? [...namespace, '--user', `${user.uid}:${user.gid}`] : namespace
    },
    sidecarArgs: kind.rootless && kind.podmanCli ? ['--userns', 'keep-id'] : [],
    extra: ulimits.flatMap((u) => ['--ulimit', `${u.Name}=${u.Soft}:${u.Hard}`]),
    ulimits,
    // Podman gives a new volume's root the owner of the directory the image has where it is mounted (root's
    // /workspace in realm's image): under keep-id that root is not the user, who could then not write at the
    // top of the workspace nor, on the host, remove the upper layer.
    workspaceDir: kind.rootless && kind.podmanCli ? MOUNT.ownWorkspace : MOUNT.workspace,
    // Under keep-id the tmpfs's root is the namespace's root, not the user, and git would refuse the checkout in
    // it as another's ("dubious ownership").
    workspaceTmpfs: (user) => (kind.rootless && kind.podmanCli && user ? ',U' : ''),
    // Its Docker-compatible API mounts an anonymous volume without the options Docker's CLI sends (an empty
    // volume, where the overlay should be); only its own CLI passes them.
    overlayProblem: kind.podmanCli
      ? undefined
      : "Podman's Docker-compatible socket ignores an anonymous volume's overlay options (run with REALM_ENGINE=podman for its own CLI)",
  }
}

/** The engine's pieces of the run's command line. */
export function planFor(kind: EngineKind, limits: HostLimits = {}): EnginePlan {
  return kind.engine === 'podman' ? podmanPlan(kind, limits) : dockerPlan
}

/** The hard limits of open files and processes in a /proc/<pid>/limits text (pure, for tests). */
export function parseHardLimits(text: string): HostLimits {
  const hard = (name: string) => {
    const match = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(text)
    return match && /^\d+$/.test(match[1]) ? Number(match[1]) : undefined
  }
  return { nofile: hard('Max open files'), nproc: hard('Max processes') }
}
