// What a relay sidecar is (the path for an engine whose containers cannot reach realm through a bridge:
// engine.ts decides): the same small container as a bridge sidecar (sidecar-plan.ts), with no network but
// loopback (--network none), whose rules route every other address into loopback and log it (firewall.sh relay),
// and in which realm runs realm-relay (docker/net/relay.c, in the sidecar's image) over its own connection to the
// engine. Through the docker CLI the engine need not see realm's paths (a remote engine cannot): firewall.sh is
// copied in before the start instead of mounted. Pure: the docker CLI's argv and the engine API's container are the same container.
import { readFileSync } from 'node:fs'
import path from 'node:path'

import { type TarEntry, tarArchive } from '../container/tar.js'
import { NET_MOUNT, SIDECAR_FLAGS, type SidecarPlan, sidecarContainer } from './sidecar-plan.js'

const COMMAND = ['sh', `${NET_MOUNT}/firewall.sh`, 'relay']
/** realm-relay runs as nobody: it needs no privilege, and what it carries is the agent's. */
export const RELAY_USER = '65534:65534'
export const RELAY_PROGRAM = 'realm-relay'

/** The archive copied to / in the sidecar before its start: realm's firewall.sh at NET_MOUNT. */
export function relayFiles(plan: Pick<SidecarPlan, 'netDir'>): Buffer {
  const dirs = NET_MOUNT.split('/').filter(Boolean)
  const entries: TarEntry[] = dirs.map((_, i) => ({ name: `${dirs.slice(0, i + 1).join('/')}/`, mode: 0o755 }))
  entries.push({ name: `${dirs.join('/')}/firewall.sh`, mode: 0o644, data: readFileSync(path.join(plan.netDir, 'firewall.sh')) })
  return tarArchive(entries)
}

/**
 * The docker CLI's steps: create the sidecar, copy realm's files in (the archive on stdin), start it attached.
 * `engineArgs`: the flags the engine needs for every container (container/engine-dialect.ts).
 */
export function planRelaySidecar(plan: SidecarPlan, engineArgs: string[] = []): { create: string[]; copy: string[]; start: string[] } {
  const [entrypoint, ...args] = COMMAND
  return {
    create: [
      'create',
      ...engineArgs,
      '--rm',
      '-i',
      '--name',
      plan.name,
      '--network',
      'none',
      ...SIDECAR_FLAGS,
      '--entrypoint',
      entrypoint,
      plan.image,
      ...args,
    ],
    copy: ['cp', '-', `${plan.name}:/`],
    start: ['start', '-a', '-i', plan.name],
  }
}

/**
 * The body of the engine API's POST /containers/create for the same container as planRelaySidecar's; `mounted`:
 * docker/net mounted read-only instead of copied in (an engine on a socket of this machine sees realm's paths).
 */
export function relaySidecarSpec(plan: SidecarPlan, mounted = false, ulimits: unknown[] = []): Record<string, unknown> {
  return sidecarContainer(plan, COMMAND, {
    NetworkMode: 'none',
    ...(mounted ? { Mounts: [{ Type: 'bind', Source: plan.netDir, Target: NET_MOUNT, ReadOnly: true }] } : {}),
    ...(ulimits.length ? { Ulimits: ulimits } : {}),
  })
}

/** The docker CLI's argv for realm-relay in the sidecar, listening on each of `ports`. */
export function planRelay(sidecar: string, ports: number[]): string[] {
  return ['exec', '-i', '-u', RELAY_USER, sidecar, RELAY_PROGRAM, ...ports.map(String)]
}
