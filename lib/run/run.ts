// One run of the agent: prepare the run directory, start the container, forward interruptions as a graceful
// stop, then save what the run produced into the session.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

import { claudeMounts, identityEnv, passedEnv } from '../container/agent-env.js'
import { planDockerRun } from '../container/plan.js'
import { containerRunning, runAttached, stopContainer, waitForContainer } from '../container/docker.js'
import { UserError, errorCode } from '../common/errors.js'
import { pathExists, watchForFile } from '../common/files.js'
import type { GitSettings } from '../git/repo.js'
import { dockerDir } from '../common/paths.js'
import { saveRun, type RunMode, type SaveResult } from './save.js'
import type { Session } from '../session/store.js'
import { trace, traceEnabled } from '../common/trace.js'
import { rememberOverlayUnsupported, type StrategyChoice, type Strategy } from './workspace.js'

export interface RunOptions {
  session: Session
  mode: RunMode
  /** the project's repository root */
  root: string
  /** what runs in the container: claude with its arguments, or a shell */
  command: string[]
  image: string
  strategy: StrategyChoice
  dockerArgs: string[]
  /** the user's git settings, being read since the caller's checks began (see prepareRun) */
  gitSettings: Promise<GitSettings>
  tty: boolean
  includeIgnored: boolean
  /** progress lines for the user (core modules never print) */
  notify: (line: string) => void
  env?: NodeJS.ProcessEnv
}

export interface RunOutcome {
  exitCode: number
  save: SaveResult
  strategy: Strategy
  includeIgnored: boolean
}

interface RunState {
  container: string
  mode: RunMode
  strategy: Strategy
  pid: number
  startedAt: string
}

export function runDir(session: Pick<Session, 'dir'>): string {
  return path.join(session.dir, 'run')
}

function layersDir(session: Session): string {
  return path.join(session.dir, 'layers')
}

/** Removes a directory tree, including an overlay work dir the kernel left owned by root with mode 000. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true })
  } catch (error) {
    if (errorCode(error) !== 'EACCES') throw error
    // An empty directory can be removed without permission on itself; only its parent must be writable.
    await fs.rmdir(path.join(dir, 'work', 'work')).catch(() => undefined)
    await fs.rm(dir, { recursive: true, force: true })
  }
}

async function cleanUp(session: Session): Promise<void> {
  await removeTree(runDir(session))
  await removeTree(layersDir(session))
}

/**
 * Runs the container; `onDone` is called as soon as the entrypoint has put every output in place, which is
 * while docker is still removing the container (about a tenth of a second that the save can use).
 */
async function startContainer(
  options: RunOptions,
  strategy: Strategy,
  onDone: () => void,
): Promise<{ exitCode: number; container: string; stopped: boolean }> {
  const { session, root } = options
  const env = options.env ?? process.env
  const out = runDir(session)
  await cleanUp(session)
  await fs.mkdir(out, { recursive: true })
  const upper = path.join(layersDir(session), 'upper')
  const work = path.join(layersDir(session), 'work')
  if (strategy === 'overlay') {
    await fs.mkdir(upper, { recursive: true })
    await fs.mkdir(work, { recursive: true })
  }
  const container = `realm-${session.name}-${randomBytes(3).toString('hex')}`
  const state: RunState = { container, mode: options.mode, strategy, pid: process.pid, startedAt: new Date().toISOString() }
  const { excludes, identity } = await options.gitSettings
  await fs.writeFile(path.join(out, 'state.json'), JSON.stringify(state))
  await fs.writeFile(path.join(out, 'global-excludes'), excludes)

  const argv = planDockerRun({
    image: options.image,
    containerName: container,
    tty: options.tty,
    user: process.getuid && process.getgid ? { uid: process.getuid(), gid: process.getgid() } : undefined,
    projectRoot: root,
    sessionDir: session.dir,
    runDir: out,
    realmLib: dockerDir(),
    workspace: strategy === 'overlay' ? { kind: 'overlay', upper, work } : { kind: 'copy' },
    env: {
      REALM_MODE: options.mode,
      REALM_BASE: session.meta.baseCommit,
      ...(session.meta.branch ? { REALM_BRANCH: session.meta.branch } : {}),
      ...(session.meta.subdir ? { REALM_SUBDIR: session.meta.subdir } : {}),
      ...(options.includeIgnored ? { REALM_INCLUDE_IGNORED: '1' } : {}),
      // A `new --remote` session starts from the remote branch's tip alone, not from the user's checkout.
      ...(options.mode === 'new' && session.meta.remote ? { REALM_CLEAN_START: '1' } : {}),
      ...identityEnv(identity),
      ...(traceEnabled() ? { REALM_TRACE: '1' } : {}),
    },
    passEnv: passedEnv(env, options.tty),
    mounts: claudeMounts(),
    extraArgs: options.dockerArgs,
    command: options.command,
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
  const done = watchForFile(out, 'done')
  void done.appeared.then(onDone)
  try {
    trace('docker run')
    const exitCode = await runAttached(argv)
    trace('docker exited')
    return { exitCode, container, stopped }
  } finally {
    done.close()
    for (const signal of signals) process.off(signal, onSignal)
  }
}

/** Whether the session's current run got as far as starting the agent (its output is then worth keeping). */
export async function agentStarted(session: Session): Promise<boolean> {
  return pathExists(path.join(runDir(session), 'ready'))
}

export async function runAgent(options: RunOptions): Promise<RunOutcome> {
  let strategy = options.strategy.strategy
  const out = runDir(options.session)
  // Saved once: early when the entrypoint says it is done, else after docker has exited.
  let saving: Promise<SaveResult> | undefined
  const save = () => (saving ??= saveRun(options.session, out, options.mode, options.root))
  const saveEarly = () => void save().catch(() => undefined) // its outcome is read below
  let started = await startContainer(options, strategy, saveEarly)
  if (
    !(await pathExists(path.join(out, 'ready'))) &&
    !(await pathExists(path.join(out, 'error'))) &&
    started.exitCode === 125 &&
    strategy === 'overlay' &&
    !options.strategy.forced
  ) {
    // docker could not start the container with the overlay volume; try the copy, and if that starts,
    // remember that this engine cannot mount overlays.
    options.notify(
      'realm: this Docker engine cannot mount an overlay workspace; using a copy instead (set REALM_WORKSPACE=copy to skip this check)',
    )
    strategy = 'copy'
    started = await startContainer(options, strategy, saveEarly)
    if (await pathExists(path.join(out, 'ready'))) await rememberOverlayUnsupported('the Docker engine could not mount an overlay volume')
  }
  // If realm was interrupted, or docker's client went away first, the container may still be capturing.
  if (started.stopped || !(await pathExists(path.join(out, 'exit_code')))) await waitForContainer(started.container)

  const error = await fs.readFile(path.join(out, 'error'), 'utf8').catch(() => undefined)
  const saved = await save()
  if (saved.status === 'not-started') {
    await cleanUp(options.session)
    // The entrypoint names session files by their container path; the user knows them by the host path.
    if (error)
      throw new UserError(`the workspace could not be prepared: ${error.trim().replaceAll('/realm/session/', `${options.session.dir}/`)}`)
    throw new UserError(
      `docker could not start the container (exit ${started.exitCode}) — see docker's message above; check --image and REALM_DOCKER_ARGS`,
    )
  }
  if (saved.status !== 'unverified') await cleanUp(options.session)
  return { exitCode: saved.exitCode ?? started.exitCode, save: saved, strategy, includeIgnored: options.includeIgnored }
}

/**
 * Stops the container of a run whose realm process died, if it still runs, and waits until it is gone (its
 * entrypoint captures on the way out). Returns the run's recorded state, undefined when there is none.
 */
export async function stopLeftoverContainer(session: Pick<Session, 'dir'>, seconds = 10): Promise<RunState | undefined> {
  const text = await fs.readFile(path.join(runDir(session), 'state.json'), 'utf8').catch(() => undefined)
  let state: RunState
  try {
    state = JSON.parse(text ?? '') as RunState
  } catch {
    return undefined
  }
  if (await containerRunning(state.container)) {
    await stopContainer(state.container, seconds)
    await waitForContainer(state.container)
  }
  return state
}

/**
 * Finishes a run whose realm process died (kill -9, a closed laptop): stops its container if it is still
 * running, waits for the entrypoint's final capture, and saves it. Undefined when there was no such run.
 */
export async function recoverRun(session: Session, root: string): Promise<(SaveResult & { mode: RunMode }) | undefined> {
  const out = runDir(session)
  // No state, or a half-written one: realm died while setting the run up, so the agent never started.
  const state = await stopLeftoverContainer(session)
  if (!state) {
    await cleanUp(session)
    return undefined
  }
  const save = await saveRun(session, out, state.mode, root)
  if (save.status !== 'unverified') await cleanUp(session)
  return { ...save, mode: state.mode }
}
