// Turning a finished (or interrupted) run's output directory into session files — only once they are
// verified to apply on the session's baseline, and all together or not at all.
import fs from 'node:fs/promises'
import path from 'node:path'

import type { FileUpdate } from '../session/transaction.js'
import { UserError, isDiskFull } from '../common/errors.js'
import { nonEmptyFile, pathExists } from '../common/files.js'
import { PatchDoesNotApply, verifyPatches } from '../git/repo.js'
import { hostEdits as findHostEdits } from './host-edits.js'
import { patchPath, updateSession, type Session } from '../session/store.js'

export type RunMode = 'new' | 'resume'

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
}

export async function saveRun(session: Session, runDir: string, mode: RunMode, root: string, now = new Date()): Promise<SaveResult> {
  try {
    return await save(session, runDir, mode, root, now)
  } catch (error) {
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

async function save(session: Session, runDir: string, mode: RunMode, root: string, now: Date): Promise<SaveResult> {
  const out = (name: string) => path.join(runDir, name)
  if (!(await pathExists(out('ready')))) return { status: 'not-started', hostEdits: [] }
  // Runs beside the verification below: both are git processes reading the repository.
  const hostEditsFound = findHostEdits(root, runDir)

  const codeText = await fs.readFile(out('exit_code'), 'utf8').catch(() => undefined)
  const exitCode = codeText === undefined ? undefined : Number(codeText.trim())
  const finished = await pathExists(out('changes.patch'))
  const patchFile = finished ? out('changes.patch') : (await pathExists(out('snapshot.patch'))) ? out('snapshot.patch') : undefined
  const status = finished ? 'saved' : 'recovered'

  const baseline = mode === 'new' ? await nonEmptyFile(out('baseline.patch')) : await patchPath(session, 'baseline.patch')
  const base = mode === 'new' ? undefined : await nonEmptyFile(out('base.patch'))
  const changes = patchFile && (await nonEmptyFile(patchFile))

  let hostEdits: string[]
  try {
    ;[hostEdits] = await Promise.all([
      hostEditsFound,
      verifyPatches(
        root,
        session.meta.baseCommit,
        [baseline, base, changes].filter((p): p is string => p !== undefined),
      ),
    ])
  } catch (error) {
    hostEdits = await hostEditsFound
    if (!(error instanceof PatchDoesNotApply)) throw error
    // Keep the raw patch where the user can find it; the session's earlier patches stay as they were.
    const keptAt = path.join(session.dir, 'failed', `${now.toISOString().replace(/[:.]/g, '-')}-${path.basename(error.patch)}`)
    await fs.mkdir(path.dirname(keptAt), { recursive: true })
    await fs.copyFile(error.patch, keptAt)
    return { status: 'unverified', exitCode, hostEdits, keptAt, problem: error.detail }
  }

  const place = (file: string | undefined): FileUpdate => (file ? { copyFrom: file } : { remove: true })
  const updates: Record<string, FileUpdate> = { 'changes.patch': place(changes) }
  if (mode === 'new') updates['baseline.patch'] = place(baseline)
  else {
    updates['base.patch'] = place(base)
    updates.resumed_at = { data: `${now.toISOString()}\n` }
  }
  await updateSession(session, updates)
  if (mode === 'resume') session.resumedAt = now.toISOString()
  return { status, exitCode, hostEdits, captureFailed: !patchFile && exitCode !== undefined }
}
