// Turning a finished (or interrupted) run's output directory into session files — only once they are
// verified to apply on the session's baseline, and all together or not at all. The output directory is
// untrusted input (see outputs.ts): what is stored is the patch git makes on the host from the verified trees.
import fs from 'node:fs/promises'
import path from 'node:path'

import type { FileUpdate } from '../session/transaction.js'
import { UserError, isDiskFull } from '../common/errors.js'
import { copyPrivate, privateDir } from '../common/private.js'
import { PatchDoesNotApply } from '../git/trees.js'
import { withScratch } from '../git/scratch.js'
import { keepClaudeState } from '../container/claude-config.js'
import { hostEdits as findHostEdits } from './host-edits.js'
import { hiddenTest } from './hidden.js'
import { claudeSeedDir, hostExcludesFile, hostRunDir, readHidden, readRunState } from './host-run.js'
import { readRunOutputs, RunOutputRefused } from './outputs.js'
import type { RunMode } from './protocol.js'
import { regeneratePatches } from './regenerate.js'
import { patchPath, updateSession, type Session } from '../session/store.js'
import { historyText, nextRunNumber, type RunRecord, RUNS_FILE, runPatchName, SESSION_PATCH, totalsOf } from '../session/history.js'
import { runPatches, summarizePatch } from '../session/patches.js'
import { historyUpdates, lockedHistory } from '../session/run-history.js'

export type { RunMode }

export interface SaveResult {
  /** saved: the run's final patch; recovered: its last snapshot (the run did not finish); not-started: the
   * workspace was never ready, so nothing was saved; unverified: the patch did not apply and was set aside. */
  status: 'saved' | 'recovered' | 'not-started' | 'unverified'
  /** the agent's exit code, when the run got to record it */
  exitCode?: number
  /** paths the host changed during an overlay run, left out of the patch */
  hostEdits: string[]
  /** where an unverified patch was kept */
  keptAt?: string
  problem?: string
  /** the agent finished but its work could not be captured (the session's disk was full, say) */
  captureFailed?: boolean
  /** what the agent changed in its copy of Claude Code's configuration (never kept), one line per item */
  configChanges: string[]
}

/** `recovered`: the run's realm process died, and a later command saves its work (its record says so). */
export async function saveRun(
  session: Session,
  runDir: string,
  mode: RunMode,
  root: string,
  now = new Date(),
  recovered = false,
): Promise<SaveResult> {
  try {
    return await withScratch((scratch) => save(session, runDir, scratch, mode, root, now, recovered))
  } catch (error) {
    if (error instanceof RunOutputRefused) {
      // Nothing of a refused run is kept, and it is not tried again by the next command on the session.
      await fs.rm(runDir, { recursive: true, force: true })
      await fs.rm(hostRunDir(session), { recursive: true, force: true })
      throw error
    }
    if (!isDiskFull(error)) throw error
    // Every session update is a transaction, so the earlier files are untouched; the run directory stays
    // for the next attempt (any command on the session retries the save).
    throw new UserError(
      `no space left on the device holding ${session.dir} while saving the run — free some space, then run 'realm apply --check ${session.name}' (or any command on the session) to save it; the earlier patches are intact`,
      1,
      { cause: error },
    )
  }
}

async function save(
  session: Session,
  runDir: string,
  scratch: string,
  mode: RunMode,
  root: string,
  now: Date,
  recovered: boolean,
): Promise<SaveResult> {
  // Every output is read (and refused, if need be) before anything of the run is used.
  const outputs = await readRunOutputs(runDir, scratch, mode)
  if (!outputs.ready) return { status: 'not-started', hostEdits: [], configChanges: [] }
  const { exitCode, changes } = outputs
  const hidden = await readHidden(session)
  const isHidden = hiddenTest(hidden)
  const status = outputs.finished ? 'saved' : 'recovered'
  const captureFailed = !outputs.captured && exitCode !== undefined
  // Runs beside the verification below: both are git processes reading the repository.
  const hostEditsFound = findHostEdits(root, {
    index: outputs.lowerIndex,
    agentPaths: outputs.agentPaths,
    excludesFile: hostExcludesFile(session),
  })
  const earlier = mode === 'new' ? [] : await runPatches(session)
  const baseline = mode === 'new' ? outputs.baseline : await patchPath(session, 'baseline.patch')
  const regenerated = path.join(scratch, 'regenerated')
  await fs.mkdir(regenerated)

  let patches: Awaited<ReturnType<typeof regeneratePatches>>
  let hostEdits: string[]
  try {
    ;[hostEdits, patches] = await Promise.all([
      // The hidden files are the user's, never the agent's work nor an edit made during the run.
      hostEditsFound.then((edits) => edits.filter((p) => !isHidden(p))),
      regeneratePatches(root, session.meta.baseCommit, { baseline, earlier, changes, hidden }, regenerated),
    ])
  } catch (error) {
    hostEdits = (await hostEditsFound).filter((p) => !isHidden(p))
    if (!(error instanceof PatchDoesNotApply)) throw error
    // Keep the patch where the user can find it: the bytes realm read from the output directory (its private
    // copy), never anything else. The session's earlier patches stay as they were.
    const keptAt = path.join(session.dir, 'failed', `${now.toISOString().replace(/[:.]/g, '-')}-${path.basename(error.patch)}`)
    await privateDir(path.dirname(keptAt))
    await copyPrivate(error.patch, keptAt)
    return { status: 'unverified', exitCode, hostEdits, keptAt, problem: error.detail, configChanges: [] }
  }

  const place = (file: string | undefined): FileUpdate => (file ? { copyFrom: file } : { remove: true })
  // The run joins the session's history: its own patch (the same file as changes.patch) and its record.
  const found = mode === 'new' ? undefined : await lockedHistory(session)
  const history = found?.history ?? { runs: [] }
  const state = await readRunState(session)
  const record: RunRecord = {
    number: nextRunNumber(history),
    startedAt: state?.startedAt,
    endedAt: recovered ? undefined : now.toISOString(),
    args: state?.asked?.args,
    shell: state?.asked?.shell || undefined,
    exitCode,
    workspace: state?.strategy,
    network: state?.asked?.network,
    image: state?.asked?.image,
    ...totalsOf(await summarizePatch(patches.changes)),
    recovered: recovered ? (outputs.finished ? 'final' : 'snapshot') : undefined,
  }
  const runPatch = runPatchName(record.number)
  const updates: Record<string, FileUpdate> = {
    'changes.patch': place(patches.changes),
    [SESSION_PATCH]: place(patches.session),
    [runPatch]: place(patches.changes),
  }
  if (mode === 'new') updates['baseline.patch'] = place(patches.baseline)
  else {
    updates['base.patch'] = place(patches.base)
    updates.resumed_at = { data: `${now.toISOString()}\n` }
  }
  const next = { ...history, runs: [...history.runs, record] }
  Object.assign(updates, found ? await historyUpdates(session, found, next, updates) : { [RUNS_FILE]: { data: historyText(next) } })
  await updateSession(session, updates)
  if (mode === 'resume') session.resumedAt = now.toISOString()
  const configChanges = keepClaudeState(outputs.claude, claudeSeedDir(session))
  return { status, exitCode, hostEdits, captureFailed, configChanges }
}
