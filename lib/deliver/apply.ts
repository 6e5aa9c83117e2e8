// `realm apply`: the session's whole change (its baseline → its latest state) onto the user's working tree,
// the way `git am --3way` does it: a plain apply when the patch fits, a 3-way merge when the user moved on.
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { appliesCleanly } from '../git/check.js'
import { withScratch } from '../git/scratch.js'
import type { FileChange } from '../patch/parse.js'
import type { PatchSummary } from '../patch/summarize.js'
import { patchPath, type Session } from '../session/store.js'
import { runPatches, summarizePatch, summarizeSessionPatch, withSessionPatch } from '../session/patches.js'

/** The patch's files and risk flags (see PatchSummary), and what happened. */
export type ApplyResult = PatchSummary &
  (
    | { status: 'applied'; method: 'clean' | '3way' }
    | { status: 'conflicts'; conflicts: string[] }
    | { status: 'would-apply'; method: 'clean' | '3way' }
  )

/** Paths the patch reads or writes in the working tree. */
export function touchedPaths(files: readonly FileChange[]): string[] {
  const paths = new Set<string>()
  for (const f of files) paths.add(f.oldPath).add(f.path)
  return [...paths]
}

/**
 * The session's change as a patch whose preimages are all in the user's object store, for a 3-way merge: it
 * records them in the index (conflict stages), and an index entry must never point at an object that is deleted
 * with a scratch dir. A single run patch on a clean start qualifies as it is (its preimages are the base commit's);
 * otherwise the runs are folded with the blobs of both sides written into the repository.
 */
async function mergeablePatch(session: Session, plain: string, scratch: string): Promise<string> {
  const [baseline, runs] = await Promise.all([patchPath(session, 'baseline.patch'), runPatches(session)])
  if (runs.length === 1 && !baseline) return plain
  const { diffTreesToFile, sessionTrees } = await import('../git/trees.js')
  const trees = await sessionTrees(session.projectDir, scratch, session.meta.baseCommit, baseline, runs, 'repository', true)
  const file = path.join(scratch, 'merge.patch')
  await diffTreesToFile(session.projectDir, trees.builder.env, trees.baseline, trees.final, file)
  return file
}

/** The caller holds the session's lock (see commands/steps/open-session.ts). */
export async function applySession(session: Session, options: { check?: boolean } = {}): Promise<ApplyResult> {
  const root = session.projectDir
  const runs = await runPatches(session)
  if (runs.length === 0) throw new UserError(`session '${session.name}' has no changes to apply`)
  // The caller holds the session's lock, so nothing replaces its files meanwhile: one run patch is the whole
  // change as it is (see withSessionPatch), read in place, without a scratch copy.
  const withPatch = <T>(use: (file: string | undefined) => Promise<T>) =>
    runs.length === 1 ? use(runs[0]) : withSessionPatch(session, use)
  return withPatch(async (plain) => {
    // The session has a run, so there is a patch file (empty when the runs cancel out).
    if (!plain) throw new UserError(`session '${session.name}' has no changes to apply`)
    const patch = plain
    // First choice: the patch fits the working tree as it is. Only the files it names change; the index does not.
    // git checks every file before it writes any, so a patch that does not fit leaves the tree as it was, and
    // the check need not run on its own first; reading the patch for the summary runs alongside.
    // The summary is the one stored with the patch when it matches (see session/summaries.ts); otherwise it is read
    // a section at a time (as `realm diff` reads it), on the other CPU while git works.
    // `apply --check` of a patch that applies runs one git process, started without execa (see git/check.ts); the
    // rest loads the code that runs git for everything else only when it gets there.
    const worktree = () => import('../git/worktree.js')
    const [summary, clean] = await Promise.all([
      runs.length === 1 ? summarizeSessionPatch(session, patch) : summarizePatch(patch),
      options.check ? appliesCleanly(root, patch) : (await worktree()).applyToWorktree(root, patch, 'clean').then((r) => r.ok),
    ])
    const { files } = summary
    if (files.length === 0) throw new UserError(`session '${session.name}' has no changes to apply (its runs cancel out)`)
    if (clean) return { ...summary, status: options.check ? 'would-apply' : 'applied', method: 'clean' }

    // The user moved on: merge 3-way from the index. git refuses files with unstaged edits only with a cryptic
    // "does not match index", and would not know an untracked file at all; name them and say what to do.
    const { applyToWorktree, unmergedPaths, unprotectedEdits } = await worktree()
    const blocked = await unprotectedEdits(root, touchedPaths(files))
    if (blocked.length) {
      throw new UserError(
        `cannot apply: the session changes ${list(blocked)}, which ${blocked.length === 1 ? 'has' : 'have'} uncommitted edits that a 3-way merge would not protect — commit or stage them (git add), then run 'realm apply ${session.name}' again`,
      )
    }
    if (options.check) return { ...summary, status: 'would-apply', method: '3way' }

    const merged = await withScratch(async (scratch) => {
      const mergeable = await mergeablePatch(session, patch, scratch)
      return applyToWorktree(root, mergeable, '3way')
    })
    const conflicts = await unmergedPaths(root, touchedPaths(files))
    if (conflicts.length) return { ...summary, status: 'conflicts', conflicts }
    if (!merged.ok) throw new UserError(`cannot apply the session's changes (nothing was changed): ${merged.reason}`)
    return { ...summary, status: 'applied', method: '3way' }
  })
}

function list(paths: string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ')
}
