// Finishing a run whose realm process died (kill -9, a closed laptop): its container may still be running, and
// its output directory holds what the entrypoint captured.
import path from 'node:path'

import { containerRunning, stopContainer, waitForContainer } from '../container/docker.js'
import type { Session } from '../session/store.js'
import { readRunState, type RunState, runDir } from './host-run.js'
import { cleanUp, sweepRun } from './run.js'
import { saveRun, type RunMode, type SaveResult } from './save.js'
import { fetchStreamedRun } from './remote-run.js'

/**
 * Stops the container of a run whose realm process died, if it still runs, and waits until it is gone (its
 * entrypoint captures on the way out). Returns the run's recorded state, undefined when there is none.
 */
export async function stopLeftoverContainer(session: Pick<Session, 'dir'>, seconds = 10): Promise<RunState | undefined> {
  // state.json lives outside the output directory, where the container cannot write.
  const state = await readRunState(session)
  if (!state) return undefined
  // A container on a remote engine keeps its outputs there: they are fetched into the output directory first.
  if (state.streamed) {
    await fetchStreamedRun({ dir: session.dir, name: path.basename(session.dir) }, state, true)
    return state
  }
  if (await containerRunning(state.container)) {
    await stopContainer(state.container, seconds)
    await waitForContainer(state.container)
  }
  return state
}

/**
 * Finishes a run whose realm process died: stops its container if it is still running, waits for the
 * entrypoint's final capture, and saves it. Undefined when there was no such run.
 */
export async function recoverRun(session: Session, root: string): Promise<(SaveResult & { mode: RunMode }) | undefined> {
  const out = runDir(session)
  // No state, or a half-written one: realm died while setting the run up, so the agent never started.
  const state = await stopLeftoverContainer(session)
  try {
    if (!state) {
      await cleanUp(session)
      return undefined
    }
    const save = await saveRun(session, out, state.mode, root, new Date(), true)
    if (save.status !== 'unverified') await cleanUp(session)
    return { ...save, mode: state.mode }
  } finally {
    // What the container left while no realm watched it (see run.ts)
    await sweepRun(session)
  }
}
