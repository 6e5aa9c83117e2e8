// `realm apply`: the session's whole change (its baseline → its latest state) onto the user's working tree,
// the way `git am --3way` does it: a plain apply when the patch fits, a 3-way merge when the user moved on.
import fs from 'node:fs/promises'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { withScratch } from '../git/scratch.js'
import { diffTreesToFile, sessionTrees } from '../git/trees.js'
import { appliesCleanly, applyToWorktree, unmergedPaths, unprotectedEdits } from '../git/worktree.js'
import { type FileChange, type FilePatch, filePatchOfSection, splitSectionBytes } from '../patch/parse.js'
import { patchPath, type Session } from '../session/store.js'
import { runPatches, withSessionPatch } from '../session/patches.js'

export type ApplyResult =
  | { status: 'applied'; files: FilePatch[]; method: 'clean' | '3way' }
  | { status: 'conflicts'; files: FilePatch[]; conflicts: string[] }
  | { status: 'would-apply'; files: FilePatch[]; method: 'clean' | '3way' }

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
  const trees = await sessionTrees(session.projectDir, scratch, session.meta.baseCommit, baseline, runs, 'repository', true)
  const file = path.join(scratch, 'merge.patch')
  await diffTreesToFile(session.projectDir, trees.builder.env, trees.baseline, trees.final, file)
  return file
}

export async function applySession(session: Session, options: { check?: boolean } = {}): Promise<ApplyResult> {
  const root = session.projectDir
  if ((await runPatches(session)).length === 0) throw new UserError(`session '${session.name}' has no changes to apply`)
  return withSessionPatch(session, async (plain) => {
    // The session has a run, so there is a patch file (empty when the runs cancel out).
    if (!plain) throw new UserError(`session '${session.name}' has no changes to apply`)
    const patch = plain
    // First choice: the patch fits the working tree as it is. Only the files it names change; the index does not.
    // git checks every file before it writes any, so a patch that does not fit leaves the tree as it was, and
    // the check need not run on its own first; reading the patch for the summary runs alongside.
    const [files, clean] = await Promise.all([
      fs.readFile(patch).then((bytes) => splitSectionBytes(bytes).map(filePatchOfSection)),
      options.check ? appliesCleanly(root, patch) : applyToWorktree(root, patch, 'clean').then((r) => r.ok),
    ])
    if (files.length === 0) throw new UserError(`session '${session.name}' has no changes to apply (its runs cancel out)`)
    if (clean) return { status: options.check ? 'would-apply' : 'applied', files, method: 'clean' }

    // The user moved on: merge 3-way from the index. git refuses files with unstaged edits only with a cryptic
    // "does not match index", and would not know an untracked file at all; name them and say what to do.
    const blocked = await unprotectedEdits(root, touchedPaths(files))
    if (blocked.length) {
      throw new UserError(
        `cannot apply: the session changes ${list(blocked)}, which ${blocked.length === 1 ? 'has' : 'have'} uncommitted edits that a 3-way merge would not protect — commit or stage them (git add), then run 'realm apply ${session.name}' again`,
      )
    }
    if (options.check) return { status: 'would-apply', files, method: '3way' }

    const merged = await withScratch(async (scratch) => {
      const mergeable = await mergeablePatch(session, patch, scratch)
      return applyToWorktree(root, mergeable, '3way')
    })
    const conflicts = await unmergedPaths(root, touchedPaths(files))
    if (conflicts.length) return { status: 'conflicts', files, conflicts }
    if (!merged.ok) throw new UserError(`cannot apply the session's changes (nothing was changed): ${merged.reason}`)
    return { status: 'applied', files, method: '3way' }
  })
}

function list(paths: string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ')
}
