// A run on an engine that cannot see the host's files (a remote engine: see container/engine-location.ts). The
// container is created without a single bind mount; the workspace and realm's scripts go in as a tar stream
// (remote-input.ts), the project's objects over the engine's per-project cache (remote-cache.ts); the container
// is started attached, and its outputs come back as a tar stream into the run's output directory on the host
// (remote-outputs.ts), where the save reads them as any run's. The container runs without --rm: if realm or its
// connection goes, it finishes on the engine and keeps its outputs, and the next command on the session fetches
// them (fetchStreamedRun) and removes it.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { claudeMounts } from '../container/claude-config.js'
import type { Engine } from '../container/engine-location.js'
import type { ContainerLimits } from '../container/limits.js'
import { cacheVolume, planRemoteCreate } from '../container/remote-plan.js'
import { containerStatus, copyInto, createContainer, removeContainer, volumeExists } from '../container/remote.js'
import { runAttached, stopContainer } from '../container/docker.js'
import { UserError } from '../common/errors.js'
import { dockerDir } from '../common/paths.js'
import { privateDirSync } from '../common/private.js'
import { trace, traceDockerSpawned } from '../common/trace.js'
import { commitsPresent, packObjects, type WorkingTree, workingTree } from '../git/stream-source.js'
import type { GitSettings } from '../git/settings.js'
import { withScratch } from '../git/scratch.js'
import { heldByAnotherProcess } from '../session/lock.js'
import { PATCH_FILES, type Session } from '../session/store.js'
import type { Egress } from '../net/egress.js'
import { NO_BROKER_ON_REMOTE } from '../net/remote.js'
import { RunOutputRefused } from './outputs.js'
import {
  claudeHistoryDir,
  claudeSeedDir,
  hostRunDir,
  type RunAsked,
  type RunState,
  readRunState,
  runDir,
  writeRunState,
} from './host-run.js'
import { trackedHidden, hiddenTest } from './hidden.js'
import { entrypointEnv } from './entrypoint-env.js'
import { OUT, type RunMode } from './protocol.js'
import { cachedCommits, forgetCache, updateCache } from './remote-cache.js'
import { handedOutFiles, netReadyStream, streamInput } from './remote-input.js'
import { fetchOutputs } from './remote-outputs.js'

/** What every run needs (run.ts's RunOptions adds what only a local run has: its workspace, its hidden files). */
export interface StreamedRunOptions {
  session: Session
  mode: RunMode
  /** the project's repository root */
  root: string
  /** what runs in the container: claude with its arguments, or a shell */
  command: string[]
  image: string
  dockerArgs: string[]
  /** the container's privileges and limits */
  limits: ContainerLimits
  /** the user's git settings, being read since the caller's checks began (see prepareRun) */
  gitSettings: Promise<GitSettings>
  tty: boolean
  includeIgnored: boolean
  /** progress lines for the user (core modules never print) */
  notify: (line: string) => void
  env?: NodeJS.ProcessEnv
  /** the run's network (broker, proxy, sidecar), being set up since the caller's checks began; none: docker's default */
  network?: Promise<Egress>
  /** what the run's record keeps of what it was asked (the user's agent arguments, the network mode) */
  asked?: Omit<RunAsked, 'image'>
}

export interface StreamedStart {
  exitCode: number
  container: string
  stopped: boolean
  /** the network policy could not be put in place (the run was stopped before its agent started) */
  networkError?: unknown
}

/** The message for work that stays on the engine until a later command fetches it. */
function leftOnEngine(session: Session, container: string, detail: string): UserError {
  return new UserError(
    `lost the Docker engine before the run's work came back (${detail}) — it is kept in the container ${container} on the engine; 'realm list' or 'realm resume ${session.name}' fetches it once the engine answers`,
  )
}

/** The session's patch files a resumed run starts from (a new session has its baseline computed instead). */
function sessionFiles(session: Session): Record<string, string> {
  const files: Record<string, string> = {}
  for (const name of PATCH_FILES) {
    const file = path.join(session.dir, name)
    if (fs.existsSync(file)) files[name] = file
  }
  return files
}

/**
 * Runs the agent on the remote engine and brings its outputs into the run's output directory. Resolves once
 * they are there and the container is gone; throws (leaving the container and the run's state for the next
 * command) when the engine cannot be reached to fetch them.
 */
export async function runStreamed(options: StreamedRunOptions, hidden: string[], engine: Engine): Promise<StreamedStart> {
  const { session, root } = options
  const env = options.env ?? process.env
  const out = runDir(session)
  privateDirSync(out)
  const volume = cacheVolume(root)
  const user = process.getuid && process.getgid ? { uid: process.getuid(), gid: process.getgid() } : undefined
  const { excludes, identity } = await options.gitSettings
  const network = options.network ? await options.network : undefined
  if (network && !network.secretEnv.ANTHROPIC_BASE_URL) options.notify(NO_BROKER_ON_REMOTE)
  const mounts = claudeMounts({ seedDir: claudeSeedDir(session), historyDir: claudeHistoryDir(session) })
  return withScratch(async (scratch) => {
    const newBaseline = options.mode === 'new' && !session.meta.remote
    // A cache volume that is gone holds nothing realm recorded (one question spares a container's start). Asked
    // before the container's create, which makes the volume afresh.
    const volumeChecked = volumeExists(volume).then((exists) => {
      if (exists === false) forgetCache(engine.id, volume)
    })
    // What the container needs of the project, read while the engine creates the container.
    const reading = Promise.all([
      newBaseline || options.includeIgnored
        ? workingTree(
            root,
            session.meta.baseCommit,
            { excludes, hidden, withIgnored: options.includeIgnored, baseline: newBaseline },
            path.join(scratch, 'tree'),
          )
        : ({ ignored: [] } as WorkingTree),
      hidden.length ? trackedHidden(root, session.meta.baseCommit, hidden) : [],
      volumeChecked.then(() => commitsPresent(root, cachedCommits(engine.id, volume))),
    ])
    reading.catch(() => undefined) // awaited below

    const attempt = async (cached: boolean) => {
      const container = `realm-${session.name}-${randomBytes(3).toString('hex')}`
      const state: RunState = {
        container,
        mode: options.mode,
        strategy: 'copy',
        pid: process.pid,
        startedAt: new Date().toISOString(),
        asked: options.asked && { ...options.asked, image: options.image },
        streamed: true,
      }
      // Before the container exists, so that a realm killed from here on leaves what finds and removes it.
      writeRunState(session, state, excludes, hidden)
      const argv = planRemoteCreate({
        image: options.image,
        containerName: container,
        tty: options.tty,
        user,
        cacheVolume: volume,
        ...entrypointEnv({ session, mode: options.mode, includeIgnored: options.includeIgnored, tty: options.tty, env, identity, network }),
        limits: options.limits,
        extraArgs: [...(network?.dockerArgs ?? []), ...options.dockerArgs],
        command: options.command,
      })
      await volumeChecked
      trace('docker create')
      const creating = createContainer(argv, options.image, network?.secretEnv)
      creating.catch(() => undefined) // awaited below
      const [tree, tracked, present] = await reading
      const have = cached ? present : []
      const pack = await packObjects(
        root,
        session.meta.baseCommit,
        have,
        path.join(scratch, `objects-${randomBytes(3).toString('hex')}.pack`),
      )
      const packBytes = pack ? fs.statSync(pack).size : 0
      trace(`objects sent: ${packBytes} bytes, against ${have.length} cached commit${have.length === 1 ? '' : 's'}`)
      await creating
      trace('docker cp in')
      await copyInto(
        container,
        streamInput({
          realmLib: dockerDir(),
          sessionFiles: newBaseline ? (tree.baseline ? { 'baseline.patch': tree.baseline } : {}) : sessionFiles(session),
          outFiles: handedOutFiles(excludes, tracked),
          pack,
          have,
          ignored: options.includeIgnored ? { root, paths: tree.ignored, isHidden: hiddenTest(hidden) } : undefined,
          mounts,
          user,
        }),
      )
      const started = await startAttached(options, container, network, user)
      trace('docker exited')
      // The cache gets the objects while the outputs come back: neither waits for the other.
      const caching = updateCache(engine.id, options.image, volume, pack, session.meta.baseCommit)
      const fetched = await fetchAndRemove(session, container)
      await caching
      if (fetched.status === 'unreachable') throw leftOnEngine(session, container, fetched.detail ?? 'no answer')
      return { ...started, container, cacheMissed: have.length > 0 && fs.existsSync(path.join(out, OUT.cacheMiss)) }
    }

    const { cacheMissed, ...started } = await attempt(true)
    if (!cacheMissed) return started
    // The engine's cache lacks what realm recorded as sent (the volume was removed): send everything.
    trace('cache miss')
    forgetCache(engine.id, volume)
    fs.rmSync(out, { recursive: true, force: true })
    privateDirSync(out)
    const { cacheMissed: _, ...again } = await attempt(false)
    return again
  })
}

/** Starts the created container attached to realm's terminal; an interruption stops it gracefully, as a local run's. */
async function startAttached(
  options: StreamedRunOptions,
  container: string,
  network: Egress | undefined,
  user: { uid: number; gid: number } | undefined,
): Promise<{ exitCode: number; stopped: boolean; networkError?: unknown }> {
  let stopped = false
  const onSignal = () => {
    if (stopped) return
    stopped = true
    options.notify('realm: stopping the agent and saving its work…')
    void stopContainer(container)
  }
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  for (const signal of signals) process.on(signal, onSignal)
  try {
    trace('docker start')
    // The values of the container's `-e NAME` flags went to `docker create`; this CLI needs none of them.
    const running = runAttached(['start', '--attach', '--interactive', container])
    traceDockerSpawned()
    const guarded = network?.join ? guardNetwork(network.join, container, running, user) : undefined
    const exitCode = await running
    return { exitCode, stopped, networkError: await guarded }
  } finally {
    for (const signal of signals) process.off(signal, onSignal)
  }
}

/**
 * Under an enforcing policy (the relay path), tells the entrypoint once the sidecar's rules are in place: the
 * marker goes into the container's output directory through the engine, as the rest of the workspace did. A
 * network that cannot be closed stops the container at once (the agent never ran). Resolves to that error.
 */
async function guardNetwork(
  join: NonNullable<Egress['join']>,
  container: string,
  gone: Promise<unknown>,
  user: { uid: number; gid: number } | undefined,
): Promise<unknown> {
  try {
    if (!(await join(gone))) return undefined
    await copyInto(container, netReadyStream(user))
    trace('network closed')
    return undefined
  } catch (error) {
    await stopContainer(container, 0)
    return error
  }
}

/**
 * Brings a stopped container's outputs into the session's output directory, then removes the container. A
 * container still running is waited for (it captures on the way out of a stop).
 */
async function fetchAndRemove(session: Pick<Session, 'dir'>, container: string): Promise<{ status: string; detail?: string }> {
  // `docker start --attach` returns when the attach connection ends, which may be before the container does.
  for (let waited = 0; (await containerStatus(container)) === 'running' && waited < 600; waited++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  trace('docker cp out')
  const fetched = await fetchOutputs(container, runDir(session)).catch(async (error: unknown) => {
    // A refused output is final: nothing of the run is kept, on the host or on the engine, and no later command
    // tries it again (as save.ts does for a local run).
    await removeContainer(container)
    if (error instanceof RunOutputRefused) {
      fs.rmSync(runDir(session), { recursive: true, force: true })
      fs.rmSync(hostRunDir(session), { recursive: true, force: true })
    }
    throw error
  })
  // Removed while the host saves the outputs: realm's process ends only once the removal has (no exit() cuts it).
  if (fetched.status !== 'unreachable') void removeContainer(container)
  trace('outputs fetched')
  return fetched
}

/**
 * A streamed run whose realm process died: its container may still run on the engine, or have stopped with its
 * outputs. `stop`: a command that takes the session over stops it (its entrypoint captures on the way out); a
 * reader leaves a running one alone. Fetches the outputs into the session's output directory (once: a reader
 * may have done it already) and removes the container. False when there is nothing to fetch yet.
 */
export async function fetchStreamedRun(session: Pick<Session, 'dir' | 'name'>, state: RunState, stop: boolean): Promise<boolean> {
  if (fs.existsSync(path.join(runDir(session), OUT.ready))) {
    await removeContainer(state.container)
    return true
  }
  const status = await containerStatus(state.container)
  if (status === 'absent') return false
  if (status === 'unknown') {
    if (!stop) return false
    throw new UserError(
      `cannot reach the Docker engine to fetch the interrupted run of '${session.name}' (its container ${state.container}) — check DOCKER_HOST / 'docker context ls', then try again`,
    )
  }
  if (status === 'running') {
    if (!stop) return false
    await stopContainer(state.container)
  }
  const fetched = await fetchAndRemove(session, state.container)
  if (fetched.status === 'unreachable') {
    if (!stop) return false
    throw new UserError(`cannot fetch the interrupted run of '${session.name}' from the Docker engine (${fetched.detail}) — try again`)
  }
  return true
}

/** For readers (list, diff): fetches a streamed run left on the engine, when no other realm process holds the session. */
export async function fetchForReader(sessionDir: string, name: string): Promise<void> {
  const state = await readRunState({ dir: sessionDir })
  if (!state?.streamed || heldByAnotherProcess(sessionDir)) return
  await fetchStreamedRun({ dir: sessionDir, name }, state, false).catch(() => undefined)
}
