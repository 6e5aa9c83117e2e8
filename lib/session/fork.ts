// `fork`: a new session from this one's state after one of its runs, with the runs up to there (its own history
// from then on) and a copy of the conversation history. Made in a hidden directory beside the sessions and renamed
// into place at the end, so that a crash at any point leaves either no new session or the whole of it.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from '../common/errors.js'
import { nonEmptyFile, pathExists } from '../common/files.js'
import { processAlive } from '../common/process.js'
import { withScratch } from '../git/scratch.js'
import { SessionExists } from './errors.js'
import { planFork } from './history-plan.js'
import { historyText, type RunRecord, RUNS_FILE, runPatchName, SESSION_PATCH } from './history.js'
import { sessionDir, sessionsDir } from './layout.js'
import { rebuildUpdates } from './rebuild.js'
import type { SessionHistory } from './run-history.js'
import { checkName, loadSession, patchPath, type Session, updateSession } from './store.js'
import { commitFiles, type FileUpdate } from './transaction.js'
import { runPatchFiles } from './undo.js'

const FORK_PREFIX = '.fork-'

/** Removes what forks left when their process died before the rename (hidden: no session name starts with '.'). */
async function pruneForks(): Promise<void> {
  for (const name of await fs.readdir(sessionsDir()).catch(() => [] as string[])) {
    const pid = new RegExp(`^\\${FORK_PREFIX}(\\d+)-`).exec(name)?.[1]
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) {
      await fs.rm(path.join(sessionsDir(), name), { recursive: true, force: true })
    }
  }
}

/**
 * Copies a conversation history (written by containers, so untrusted): directories and regular files only, never
 * through a link; anything else (a link, a FIFO, a socket) is left out.
 */
async function copyHistoryTree(from: string, to: string): Promise<void> {
  const stat = await fs.lstat(from).catch((error) => {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  })
  if (!stat?.isDirectory()) return
  await fs.mkdir(to, { mode: 0o700 })
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    if (entry.isDirectory()) await copyHistoryTree(source, path.join(to, entry.name))
    else if (entry.isFile()) await fs.copyFile(source, path.join(to, entry.name))
  }
}

export interface ForkResult {
  session: Session
  /** the run the fork's state ends with (0: the source had none) */
  at: number
  runs: RunRecord[]
}

/** Forks `source` (whose lock the caller holds) as `name`, at run `at` (default: its newest kept run). */
export async function forkSession(
  source: Session,
  found: SessionHistory,
  name: string,
  at?: number,
  now = new Date(),
): Promise<ForkResult> {
  checkName(name)
  const plan = planFork(source.name, found.history, at)
  if (await pathExists(sessionDir(name))) throw new SessionExists(name)
  await fs.mkdir(sessionsDir(), { recursive: true })
  await pruneForks()
  const temp = path.join(sessionsDir(), `${FORK_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`)
  await fs.mkdir(temp, { mode: 0o700 })
  try {
    const { pushed: _, ...meta } = source.meta
    await commitFiles(temp, {
      project_dir: { data: `${source.projectDir}\n` },
      created_at: { data: `${now.toISOString()}\n` },
      'session.json': { data: `${JSON.stringify(meta, null, 2)}\n` },
    })
    const forked = { ...source, name, dir: temp, createdAt: now.toISOString(), resumedAt: undefined, meta }
    const [baseline, files] = await Promise.all([patchPath(source, 'baseline.patch'), runPatchFiles(source, found)])
    const updates: Record<string, FileUpdate> = { [RUNS_FILE]: { data: historyText(plan.history) } }
    if (baseline) updates['baseline.patch'] = { copyFrom: baseline }
    for (const record of plan.history.runs) {
      const file = files.get(record.number)
      if (file) updates[runPatchName(record.number)] = { copyFrom: file }
    }
    const newest = found.history.runs.filter((r) => !r.undone).at(-1)?.number
    const whole = found.stored ? await nonEmptyFile(path.join(source.dir, SESSION_PATCH)) : undefined
    if (found.stored && plan.kept.at(-1)?.number === newest) {
      // The state after the newest run is the source's own: its files as they are.
      for (const file of ['base.patch', 'changes.patch']) {
        const from = await patchPath(source, file as 'base.patch')
        if (from) updates[file] = { copyFrom: from }
      }
      if (whole) updates[SESSION_PATCH] = { copyFrom: whole }
      await updateSession(forked, updates)
    } else {
      await withScratch(async (scratch) => {
        const rebuilt = await rebuildUpdates(
          {
            root: source.projectDir,
            baseCommit: source.meta.baseCommit,
            baseline,
            kept: plan.kept,
            patchOf: (record) => files.get(record.number),
            from: Number.POSITIVE_INFINITY, // every run applies as it did: nothing before them changed
          },
          scratch,
        )
        for (const [file, update] of Object.entries(rebuilt)) if (!('remove' in update)) updates[file] = update
        await updateSession(forked, updates)
      })
    }
    await copyHistoryTree(path.join(source.dir, 'claude-history'), path.join(temp, 'claude-history'))
    // rename() would replace an empty directory of that name: one a `realm new` of the same name just made.
    if (await pathExists(sessionDir(name))) throw new SessionExists(name)
    try {
      await fs.rename(temp, sessionDir(name))
    } catch (error) {
      if (['EEXIST', 'ENOTEMPTY'].includes(errorCode(error) ?? '')) throw new SessionExists(name)
      throw error
    }
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true })
    throw error
  }
  return { session: await loadSession(name), at: plan.kept.at(-1)?.number ?? 0, runs: plan.history.runs }
}
