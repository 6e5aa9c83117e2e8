// Pure planning of a streamed run, for an engine that cannot see the host's files (see engine-location.ts): no
// bind mount at all. The container is created (not started) so that realm's files and the workspace can be
// copied into it as a tar stream, then started attached. It runs without --rm: should realm or its connection
// to the engine go, the container finishes and keeps its outputs, for the next command to fetch. The project's
// objects come from a per-project volume on the engine, mounted read-only in the agent's container; only a
// container that runs nothing but realm's own script writes it (planCacheUpdate).
import { createHash } from 'node:crypto'

import { ENV, MOUNT } from '../run/protocol.js'
import { type ContainerLimits, limitArgs, tmpfsOptions } from './limits.js'
import { csvField } from './plan.js'

export interface RemotePlanInput {
  image: string
  containerName: string
  tty: boolean
  user?: { uid: number; gid: number }
  /** the engine's volume with the project's objects (cacheVolume) */
  cacheVolume: string
  /** non-secret values, passed as NAME=value */
  env: Record<string, string>
  /** passed by name only */
  passEnv: string[]
  limits: ContainerLimits
  extraArgs: string[]
  command: string[]
}

/** The name of the engine's volume that caches a project's objects: one per project (by its path on the host). */
export function cacheVolume(projectRoot: string): string {
  return `realm-cache-${createHash('sha256').update(projectRoot).digest('hex').slice(0, 16)}`
}

export function planRemoteCreate(input: RemotePlanInput): string[] {
  const args = ['create', '-i']
  if (input.tty) args.push('-t')
  args.push('--name', input.containerName)
  if (input.user) args.push('--user', `${input.user.uid}:${input.user.gid}`)
  args.push(...limitArgs(input.limits))
  args.push('--entrypoint', 'sh')
  // Read-only: the agent must not be able to change what later runs start from.
  args.push('--mount', ['type=volume', `src=${input.cacheVolume}`, `dst=${MOUNT.cache}`, 'readonly'].map(csvField).join(','))
  // The workspace is a copy, in memory, as for a copy run on a local engine.
  args.push('--tmpfs', `${MOUNT.workspace}:${tmpfsOptions('rw,exec,mode=1777', input.limits)}`)
  args.push('--tmpfs', `${MOUNT.home}:${tmpfsOptions('rw,exec,mode=1777', input.limits)}`)
  args.push('--tmpfs', `${MOUNT.git}:${tmpfsOptions('rw,mode=1777', input.limits)}`)
  const env: Record<string, string> = {
    ...input.env,
    HOME: MOUNT.home,
    [ENV.workspace]: 'copy',
    [ENV.workspaceDir]: MOUNT.workspace,
    [ENV.streamed]: '1',
  }
  for (const [name, value] of Object.entries(env)) args.push('-e', `${name}=${value}`)
  for (const name of input.passEnv) args.push('-e', name)
  args.push('-w', MOUNT.workspace)
  args.push(...input.extraArgs)
  args.push(input.image, `${MOUNT.lib}/entrypoint.sh`, ...input.command)
  return args
}

/**
 * The container that adds a pack to the project's cache: realm's own few lines of shell, no network, on the
 * run's image (it has git). The pack comes on its stdin from the host, never from the agent's container.
 */
export function planCacheUpdate(image: string, volume: string): string[] {
  const script = [
    'set -e',
    `mkdir -p ${MOUNT.cache}/objects/pack /tmp/realm-cache`,
    'git init -q --bare /tmp/realm-cache',
    `GIT_DIR=/tmp/realm-cache GIT_OBJECT_DIRECTORY=${MOUNT.cache}/objects git index-pack --stdin >/dev/null`,
  ].join('\n')
  return [
    'run',
    '--rm',
    '-i',
    '--network',
    'none',
    '--user',
    '0:0',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--entrypoint',
    'sh',
    '--mount',
    ['type=volume', `src=${volume}`, `dst=${MOUNT.cache}`].map(csvField).join(','),
    image,
    '-c',
    script,
  ]
}
