// One run of the agent: prepare the run directory, start the container, forward interruptions as a graceful
// stop, then save what the run produced into the session.
import { randomBytes } from 'node:crypto'
import fsSync from 'node:fs'
import fs, { constants } from 'node:fs/promises'
import path from 'node:path'

import { claudeMounts } from '../container/claude-config.js'
import { planDockerRun } from '../container/plan.js'
import { planFor } from '../container/engine-dialect.js'
import { engineKind, hostLimits } from '../container/engine-kind.js'
import { runAttached, stopContainer, waitForContainer } from '../container/docker.js'
import { UserError, errorCode } from '../common/errors.js'
import { pathExists, watchForFile } from '../common/files.js'
import { PRIVATE_FILE_MODE, privateDirSync } from '../common/private.js'
import { removeTreeSync } from '../common/remove-tree.js'
import { sweepTree } from '../common/sweep.js'
import { loadGit } from '../git/exec.js'
import { dockerDir } from '../common/paths.js'
import { entrypointEnv } from './entrypoint-env.js'
import { MOUNT, OUT } from './protocol.js'
import { saveRun, type SaveResult } from './save.js'
import {
  claudeHistoryDir,
  claudeSeedDir,
  fillSessionInput,
  hostRunDir,
  layersDir,
  type RunState,
  runDir,
  sessionInputDir,
  writeRunState,
} from './host-run.js'
import { readRunError } from './outputs.js'
import { makeHideLayer, trackedHidden } from './hidden.js'
import type { Session } from '../session/store.js'
import { trace, traceDockerSpawned } from '../common/trace.js'
import { agentOnEngine } from './agent-on-engine.js'
import { rememberOverlayUnsupported, type StrategyChoice, type Strategy } from './workspace.js'
import { engineLocation } from '../container/engine-location.js'
import { runStreamed, type StreamedRunOptions } from './remote-run.js'
import type { Egress } from '../net/egress.js'
import type { BlockedAttempt } from '../net/proxy.js'

/** A run's options: those of any run (remote-run.ts's, for a streamed one), and what only a local run has. */
export interface RunOptions extends StreamedRunOptions {
  strategy: StrategyChoice
  /** the project's secret files to hide from the agent (see hidden.ts), being found since the caller's checks began */
  hidden?: Promise<string[]>
}

export interface RunOutcome {
  exitCode: number
  save: SaveResult
  strategy: Strategy
  includeIgnored: boolean
  /** the connections the network policy refused */
  blocked?: BlockedAttempt[]
  /** the secret files the agent did not see */
  hidden: string[]
}

/**
 * Once the container is gone, leaves nothing it wrote that could lend anyone a privilege (see common/sweep.ts):
 * the layers go (no overlay needs them any more and the host never reads them), and what stays of the output
 * directory (an unverified run's) and the conversation history is swept. A tree too big to sweep goes whole.
 */
export async function sweepRun(session: Session): Promise<void> {
  await removeTree(layersDir(session))
  for (const dir of [runDir(session), claudeHistoryDir(session)]) {
    if (!(await sweepTree(dir)).complete) await removeTree(dir)
  }
}

export async function removeTree(dir: string): Promise<void> {
  removeTreeSync(dir)
}

function cleanUpSync(session: Session): void {
  for (const dir of [runDir(session), layersDir(session), sessionInputDir(session), hostRunDir(session)]) removeTreeSync(dir)
}

export async function cleanUp(session: Session): Promise<void> {
  cleanUpSync(session)
}

/**
 * Runs the container; `onDone` is called as soon as the entrypoint has put every output in place, which is
 * while docker is still removing the container (about a tenth of a second that the save can use).
 */
async function startContainer(
  options: RunOptions,
  strategy: Strategy,
  hidden: string[],
  onDone: () => void,
): Promise<{ exitCode: number; container: string; stopped: boolean; networkError?: unknown }> {
  const { session, root } = options
  const env = options.env ?? process.env
  const out = runDir(session)
  const upper = path.join(layersDir(session), 'upper')
  const work = path.join(layersDir(session), 'work')
  // The set-up here is synchronous: a few small files and directories, where each await would be a turn of the
  // event loop that, on a loaded machine, waits for a CPU before `docker run` can start.
  cleanUpSync(session)
  // The writable mounts, each in the session's private directory (see common/private.ts).
  privateDirSync(out)
  if (strategy === 'overlay') {
    privateDirSync(upper)
    privateDirSync(work)
  }
  // The layer that hides the secret files is made while the git settings and the network are awaited.
  const hideLayer = hidden.length ? path.join(layersDir(session), 'hide') : undefined
  const hiding = hideLayer ? prepareHiding(hideLayer, out, root, session.meta.baseCommit, hidden) : undefined
  hiding?.catch(() => undefined) // awaited below
  const container = `realm-${session.name}-${randomBytes(3).toString('hex')}`
  const kind = engineKind()
  const state: RunState = {
    container,
    mode: options.mode,
    strategy,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    asked: options.asked && { ...options.asked, image: options.image },
  }
  const { excludes, identity } = await options.gitSettings
  const network = await networkArgs(options.network)
  const agent = await agentOnEngine(options.limits)
  writeRunState(session, state, excludes, hidden)
  fsSync.writeFileSync(path.join(out, OUT.globalExcludes), excludes, { mode: PRIVATE_FILE_MODE })
  if (hiding) {
    await hiding
    trace('hide layer made')
  }

  const engine = planFor(await kind, hostLimits())
  // An engine that cannot mount a read-only overlay alone gives the project's view a scratch layer to write to.
  const viewLayers = hideLayer && engine.readonlyNeedsUpper ? scratchLayers(session) : undefined
  const argv = planDockerRun({
    image: options.image,
    containerName: container,
    tty: options.tty,
    user: agent.user,
    userns: network.userns,
    projectRoot: root,
    hideLayer,
    viewLayers,
    sessionDir: fillSessionInput(session),
    runDir: out,
    realmLib: dockerDir(),
    workspace: strategy === 'overlay' ? { kind: 'overlay', upper, work } : { kind: 'copy' },
    ...entrypointEnv({ session, mode: options.mode, includeIgnored: options.includeIgnored, tty: options.tty, env, identity, network }),
    mounts: claudeMounts({ seedDir: claudeSeedDir(session), historyDir: claudeHistoryDir(session) }),
    limits: agent.limits,
    extraArgs: [...network.dockerArgs, ...options.dockerArgs],
    command: options.command,
    engine,
  })

  // An interruption stops the container gracefully: its entrypoint captures the agent's work, then exits.
  let stopped = false
  const onSignal = () => {
    if (stopped) return
    stopped = true
    options.notify('realm: stopping the agent and saving its work…')
    void stopContainer(container)
  }
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  for (const signal of signals) process.on(signal, onSignal)
  const done = watchForFile(out, OUT.done)
  void done.appeared.then(onDone)
  try {
    trace('docker run')
    const running = runAttached(argv, network.secretEnv)
    traceDockerSpawned()
    // What the save runs git with, loaded while docker starts the container (realm only waits meanwhile).
    void loadGit().catch(() => undefined)
    const guarded = guardNetwork(network.join, container, out, running)
    const exitCode = await running
    trace('docker exited')
    return { exitCode, container, stopped, networkError: await guarded }
  } finally {
    done.close()
    for (const signal of signals) process.off(signal, onSignal)
  }
}

/** The project view's scratch upper layer and its work dir, made private like every writable layer. */
function scratchLayers(session: Session): { upper: string; work: string } {
  const layers = { upper: path.join(layersDir(session), 'view-upper'), work: path.join(layersDir(session), 'view-work') }
  privateDirSync(layers.upper)
  privateDirSync(layers.work)
  return layers
}

/** Whether the session's current run got as far as starting the agent (its output is then worth keeping). */
export async function agentStarted(session: Session): Promise<boolean> {
  return pathExists(path.join(runDir(session), OUT.ready))
}

/**
 * Waits until the sidecar's rules are in place in the namespace the run's container joined, then tells its
 * entrypoint (OUT.netReady), which starts the agent only then. Until then the entrypoint may prepare the
 * workspace on an open network, which is acceptable: only realm's own code runs in the container before the
 * marker. A network that cannot be closed stops the container at once (the agent never ran). Resolves to the
 * error to report, if any.
 */
async function guardNetwork(join: Egress['join'], container: string, out: string, gone: Promise<unknown>): Promise<unknown> {
  if (!join) return undefined
  try {
    if (!(await join(gone))) return undefined
    await createMarker(path.join(out, OUT.netReady))
    trace('network closed')
    return undefined
  } catch (error) {
    await stopContainer(container, 0)
    return error
  }
}

/**
 * Creates an empty file where none is: the output directory is the container's to write too, and O_EXCL with
 * O_NOFOLLOW makes a planted file or symlink fail the run rather than lead realm's write elsewhere.
 */
async function createMarker(file: string): Promise<void> {
  try {
    const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, PRIVATE_FILE_MODE)
    await handle.close()
  } catch (error) {
    throw new UserError(`cannot tell the container that its network is closed (${errorCode(error) ?? 'error'} on ${file}) — try again`)
  }
}

/** The run's network flags and environment (the broker, the proxy and the sidecar run; its rules may follow). */
async function networkArgs(
  network: Promise<Egress> | undefined,
): Promise<Pick<Egress, 'dockerArgs' | 'env' | 'secretEnv' | 'join' | 'userns'>> {
  if (!network) return { dockerArgs: [], env: {}, secretEnv: {} }
  const egress = await network
  trace('network ready')
  return egress
}

/** Runs the agent on the run's network, which is closed afterwards: the broker's token then opens nothing. */
export async function runAgent(options: RunOptions): Promise<RunOutcome> {
  const outcome = await runAndSave(options).catch(async (error: unknown) => {
    await closeNetwork(options.network)
    throw error
  })
  return { ...outcome, blocked: await closeNetwork(options.network) }
}

async function closeNetwork(network: Promise<Egress> | undefined): Promise<BlockedAttempt[]> {
  const egress = await network?.catch(() => undefined)
  if (!egress) return []
  await egress.close()
  return egress.blocked()
}

async function runAndSave(options: RunOptions): Promise<RunOutcome> {
  let strategy = options.strategy.strategy
  const hidden = (await options.hidden) ?? []
  trace('secret files found')
  // An engine that cannot see this machine's files gets the workspace as a stream (remote-run.ts): a copy, which
  // needs no overlay to hide files (they are never sent).
  const engine = await engineLocation()
  const streamed = engine.location === 'remote'
  if (streamed) strategy = 'copy'
  if (hidden.length && options.strategy.reason && !streamed) throw cannotHide(hidden, options.strategy.reason)
  // An engine that cannot be given an overlay (engine-dialect.ts) gets the copy; hidden files are refused.
  const noOverlay = streamed ? undefined : planFor(await engineKind()).overlayProblem
  if (noOverlay && hidden.length) throw cannotHide(hidden, noOverlay)
  if (noOverlay && strategy === 'overlay') {
    if (options.strategy.forced) throw new UserError(`cannot use an overlay workspace: ${noOverlay} — use --workspace copy`)
    strategy = 'copy'
  }
  const out = runDir(options.session)
  // Saved once: early when the entrypoint says it is done, else after docker has exited.
  let saving: Promise<SaveResult> | undefined
  const save = () => (saving ??= saveRun(options.session, out, options.mode, options.root))
  const saveEarly = () => void save().catch(() => undefined) // its outcome is read below
  if (streamed) cleanUpSync(options.session)
  let started = streamed ? await runStreamed(options, hidden, engine) : await startContainer(options, strategy, hidden, saveEarly)
  if (
    !streamed &&
    !(await pathExists(path.join(out, OUT.ready))) &&
    !(await pathExists(path.join(out, OUT.error))) &&
    started.exitCode === 125 &&
    !started.networkError &&
    strategy === 'overlay' &&
    !options.strategy.forced
  ) {
    // docker could not start the container with the overlay volume; try the copy, and if that starts,
    // remember that this engine cannot mount overlays.
    if (hidden.length) {
      await cleanUp(options.session)
      throw cannotHide(hidden, 'this Docker engine cannot mount an overlay')
    }
    options.notify(
      'realm: this Docker engine cannot mount an overlay workspace; using a copy instead (set REALM_WORKSPACE=copy to skip this check)',
    )
    strategy = 'copy'
    started = await startContainer(options, strategy, hidden, saveEarly)
    if (await pathExists(path.join(out, OUT.ready))) await rememberOverlayUnsupported('the Docker engine could not mount an overlay volume')
  }
  // If realm was interrupted, or docker's client went away first, the container may still be capturing.
  if (started.stopped || !(await pathExists(path.join(out, OUT.exitCode)))) await waitForContainer(started.container)
  try {
    return await saveAndReport(options, started, out, strategy, hidden, save)
  } finally {
    await sweepRun(options.session)
  }
}

async function saveAndReport(
  options: RunOptions,
  started: { exitCode: number; networkError?: unknown },
  out: string,
  strategy: Strategy,
  hidden: string[],
  save: () => Promise<SaveResult>,
): Promise<RunOutcome> {
  const saved = await save()
  if (saved.status === 'not-started') {
    const error = await readRunError(out).finally(() => cleanUp(options.session))
    // The entrypoint names session files by their container path; the user knows them by the host path.
    if (error)
      throw new UserError(`the workspace could not be prepared: ${error.trim().replaceAll(`${MOUNT.session}/`, `${options.session.dir}/`)}`)
    if (started.networkError) throw started.networkError
    // Hiding files mounts the project through an overlay even for a copy: an engine without overlays fails here.
    const hiding = hidden.length
      ? `, or, if it could not mount an overlay, show the ${hidden.length} hidden secret files with --show PATTERN`
      : ''
    throw new UserError(
      `docker could not start the container (exit ${started.exitCode}) — see docker's message above; check --image and REALM_DOCKER_ARGS${hiding}`,
    )
  }
  if (saved.status !== 'unverified') await cleanUp(options.session)
  return { exitCode: saved.exitCode ?? started.exitCode, save: saved, strategy, includeIgnored: options.includeIgnored, hidden }
}

/** The layer of whiteouts, and the list of the hidden files git tracks for the entrypoint (OUT.hiddenTracked). */
async function prepareHiding(layer: string, out: string, root: string, commit: string, hidden: string[]): Promise<void> {
  const [tracked] = await Promise.all([trackedHidden(root, commit, hidden), makeHideLayer(layer, root, hidden)])
  if (tracked.length) await fs.writeFile(path.join(out, OUT.hiddenTracked), `${tracked.join('\0')}\0`)
}

/**
 * Hiding files takes an overlay (the layer of whiteouts over the project); where there is none realm refuses
 * rather than show them.
 */
function cannotHide(hidden: readonly string[], reason: string): UserError {
  const files = `${hidden.length} secret file${hidden.length === 1 ? '' : 's'} (${hidden.slice(0, 3).join(', ')}${hidden.length > 3 ? ', …' : ''})`
  return new UserError(`cannot hide ${files} from the agent: ${reason} — show them with --show PATTERN, or move them out of the project`)
}
