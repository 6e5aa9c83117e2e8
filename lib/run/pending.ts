// A run that ended without being saved: its realm process died (kill -9, a crash, a daemon restart it did not
// outlive) and the agent's work is still only in the run's output directory. Commands that only read (list, diff)
// show that work, marked, and leave saving it to the next command that holds the session's lock (resume, apply,
// push: see recover.ts). Everything here only reads; the output directory is the container's, so untrusted.
import fs from 'node:fs/promises'
import path from 'node:path'

import { entryExists } from '../common/untrusted.js'
import { withScratch } from '../git/scratch.js'
import { heldByAnotherProcess } from '../session/lock.js'
import { describePath } from '../patch/parse.js'
import { type PendingRun, summarizePatch } from '../session/patches.js'
import type { Session } from '../session/store.js'
import { readRunState, runDir } from './host-run.js'
import { copyOutput, RunOutputRefused } from './outputs.js'
import { OUT } from './protocol.js'
import type { RunMode } from './save.js'
import { fetchForReader } from './remote-run.js'

export interface InterruptedRun {
  mode: RunMode
  /** the final capture (the entrypoint finished) rather than the last snapshot */
  final: boolean
  /** the output directory */
  dir: string
  /** the run's patch in `dir`: OUT.changesPatch or OUT.snapshotPatch */
  patch: string
}

/** A patch the container wrote is read no further than this; a bigger one waits for the save to deal with it. */
const PENDING_PATCH_LIMITS = { maxBytes: 2 ** 30, timeoutMs: 60_000 }

/**
 * The session's interrupted run, if it has one: a run that got as far as starting the agent, whose realm
 * process no longer holds the session. Undefined while another realm command holds it (it is running or
 * saving it); the caller may hold the lock itself (remove asks before deleting such a run).
 */
export async function interruptedRun(sessionDir: string): Promise<InterruptedRun | undefined> {
  const dir = runDir({ dir: sessionDir })
  // A run on a remote engine whose realm process died keeps its outputs there: fetched first, when it has ended.
  if (!(await entryExists(dir, OUT.ready))) await fetchForReader(sessionDir, path.basename(sessionDir))
  if (!(await entryExists(dir, OUT.ready))) return undefined
  if (heldByAnotherProcess(sessionDir)) return undefined
  // The state is realm's own (outside the output directory): no state, no run a reader can make sense of.
  const mode = (await readRunState({ dir: sessionDir }))?.mode
  if (!mode) return undefined
  if (await entryExists(dir, OUT.changesPatch)) return { mode, final: true, dir, patch: OUT.changesPatch }
  if (await entryExists(dir, OUT.snapshotPatch)) return { mode, final: false, dir, patch: OUT.snapshotPatch }
  return undefined
}

/** The size of the interrupted run's patch, without opening it (a link or anything but a regular file counts 0). */
export async function interruptedPatchBytes(run: InterruptedRun): Promise<number> {
  const stat = await fs.lstat(path.join(run.dir, run.patch)).catch(() => undefined)
  return stat?.isFile() ? stat.size : 0
}

/**
 * Copies the interrupted run's patches into `scratch`, a directory the container cannot reach: its patch, and
 * for a run of `new` the baseline it started from (the session has none of its own yet). The patch is
 * undefined when it is empty (the run changed nothing).
 */
async function copyInterruptedRun(run: InterruptedRun, scratch: string): Promise<{ baseline?: string; patch?: string }> {
  const take = (name: string) => copyOutput(run.dir, name, scratch, PENDING_PATCH_LIMITS)
  return { baseline: run.mode === 'new' ? await take(OUT.baselinePatch) : undefined, patch: await take(run.patch) }
}

/** An interrupted run's work, ready for a reader: copies of its patches and what the mark says. */
export interface ShownInterruptedRun extends PendingRun {
  /** the paths its patch touches */
  paths: string[]
  final: boolean
}

/**
 * Calls `use` with the session's interrupted run copied into a scratch directory (undefined when there is none),
 * for commands that show a session without saving anything. A patch realm cannot read (too big, not a regular
 * file) is left to the save, which reports it; here it is shown as changing nothing.
 */
export async function withInterruptedRun<T>(
  session: Pick<Session, 'dir'>,
  use: (run: ShownInterruptedRun | undefined) => Promise<T>,
): Promise<T> {
  const run = await interruptedRun(session.dir)
  if (!run) return use(undefined)
  return withScratch(async (scratch) => {
    const copied = await copyInterruptedRun(run, scratch).catch((error): PendingRun => {
      if (error instanceof RunOutputRefused) return {}
      throw error
    })
    const { files } = await summarizePatch(copied.patch)
    return use({ ...copied, paths: files.map(describePath), final: run.final })
  })
}

/** The mark a reader shows above an interrupted run's work. */
export function interruptedMark(name: string, run: ShownInterruptedRun): string {
  const what = run.final ? 'its final capture' : 'its last snapshot'
  const count = filesCount(run)
  return `realm: '${name}' has an interrupted run, not yet saved: ${count} (${what}), shown below with the rest — the next 'realm resume ${name}', 'apply' or 'push' saves it`
}

/** "3 files", for the mark and for remove's question. */
export function filesCount(run: ShownInterruptedRun): string {
  return `${run.paths.length} file${run.paths.length === 1 ? '' : 's'}`
}
