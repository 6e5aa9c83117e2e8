// Pure planning of the `docker run` command line: no process is started here, so every flag is unit-tested.
// Where things go inside the container is the host↔container protocol's business (lib/run/protocol.ts).
import { ENV, MOUNT } from '../run/protocol.js'
import { csvField } from './csv.js'
import { DOCKER, type EnginePlan, planFor } from './engine-dialect.js'
import { type ContainerLimits, limitArgs, tmpfsOptions } from './limits.js'

export { csvField }

export type WorkspacePlan = { kind: 'copy' } | { kind: 'overlay'; upper: string; work: string }

export interface Mount {
  source: string
  target: string
  readonly: boolean
}

export interface RunPlanInput {
  image: string
  containerName: string
  /** -t only when realm's own stdin and stdout are terminals */
  tty: boolean
  /** the host user's uid:gid, so everything the container writes belongs to the user */
  user?: { uid: number; gid: number }
  /** a container whose user namespace the run's joins (the network sidecar's, on rootless Podman) */
  userns?: string
  projectRoot: string
  /** an overlay layer of whiteouts that takes the hidden secret files out of every view of the project */
  hideLayer?: string
  /** a scratch upper layer (and its work dir) for the project's read-only view, on engines that need one */
  viewLayers?: { upper: string; work: string }
  sessionDir: string
  runDir: string
  /** realm's docker/ directory: the entrypoint and what it sources */
  realmLib: string
  workspace: WorkspacePlan
  /** non-secret values, passed as NAME=value */
  env: Record<string, string>
  /** secrets and pass-through values, passed by name only so they never appear in the process list */
  passEnv: string[]
  mounts: Mount[]
  /** privileges and limits (container/limits.ts) */
  limits: ContainerLimits
  extraArgs: string[]
  command: string[]
  /** the engine's own pieces of the command line (engine-dialect.ts); Docker's when not given */
  engine?: EnginePlan
}

// container/agent-env.ts reads HOME_DIR here.
/** every place an engine's plan puts the workspace (engine-dialect.ts) */
export const WORKSPACE_DIRS: readonly string[] = [MOUNT.workspace, MOUNT.ownWorkspace]
export const HOME_DIR = MOUNT.home

function bind(mount: Mount): string[] {
  const fields = ['type=bind', `src=${mount.source}`, `dst=${mount.target}`]
  if (mount.readonly) fields.push('readonly')
  return ['--mount', fields.map(csvField).join(',')]
}

/**
 * Why an overlay workspace cannot be described for this path, or undefined. The kernel's overlay options are
 * a comma-separated list in which ':' separates lower layers, so neither may appear in a layer's path.
 */
export function overlayPathProblem(dir: string): string | undefined {
  if (/[,:\n]/.test(dir)) return `the path ${dir} contains ',' or ':', which overlay options cannot express`
  return undefined
}

export function planDockerRun(input: RunPlanInput): string[] {
  const engine = input.engine ?? planFor(DOCKER)
  const workspaceDir = engine.workspaceDir
  const args = ['run', '--rm', '-i']
  if (input.tty) args.push('-t')
  args.push('--name', input.containerName)
  args.push(...engine.user(input.user, input.userns))
  args.push(...limitArgs(input.limits))
  args.push(...engine.extra)
  // realm's entrypoint, injected at run time so any image with sh and git works
  args.push('--entrypoint', 'sh')
  args.push(...bind({ source: input.realmLib, target: MOUNT.lib, readonly: true }))
  // With files to hide, the project is seen through the layer that removes them, here as in the workspace: the
  // entrypoint reads the project (the baseline, a copy's clone) and the agent could too.
  const lower = input.hideLayer ? [input.hideLayer, input.projectRoot] : [input.projectRoot]
  if (input.hideLayer) {
    const scratch = engine.readonlyNeedsUpper ? input.viewLayers : undefined
    if (engine.readonlyNeedsUpper && !scratch) throw new Error('this engine needs a scratch layer for the project view')
    args.push(...engine.overlay(MOUNT.project, { lower, ...scratch }, true))
  } else args.push(...bind({ source: input.projectRoot, target: MOUNT.project, readonly: true }))
  args.push(...bind({ source: input.sessionDir, target: MOUNT.session, readonly: true }))
  args.push(...bind({ source: input.runDir, target: MOUNT.out, readonly: false }))
  if (input.workspace.kind === 'overlay') {
    const { upper, work } = input.workspace
    args.push(...engine.overlay(workspaceDir, { lower, upper, work }, false))
    args.push(...bind({ source: upper, target: MOUNT.upper, readonly: true }))
  } else {
    // tmpfs: a checkout of tens of thousands of files lands in memory in a fraction of a second
    args.push('--tmpfs', `${workspaceDir}:${tmpfsOptions(`rw,exec,mode=1777${engine.workspaceTmpfs(input.user)}`, input.limits)}`)
  }
  args.push('--tmpfs', `${HOME_DIR}:${tmpfsOptions('rw,exec,mode=1777', input.limits)}`)
  // realm's own git directory: its objects and indexes live in memory and vanish with the container
  args.push('--tmpfs', `${MOUNT.git}:${tmpfsOptions('rw,mode=1777', input.limits)}`)
  for (const mount of input.mounts) args.push(...bind(mount))
  const env: Record<string, string> = {
    ...input.env,
    HOME: HOME_DIR,
    [ENV.workspace]: input.workspace.kind,
    [ENV.workspaceDir]: workspaceDir,
  }
  for (const [name, value] of Object.entries(env)) args.push('-e', `${name}=${value}`)
  for (const name of input.passEnv) args.push('-e', name)
  args.push('-w', workspaceDir)
  args.push(...input.extraArgs)
  args.push(input.image, `${MOUNT.lib}/entrypoint.sh`, ...input.command)
  return args
}
