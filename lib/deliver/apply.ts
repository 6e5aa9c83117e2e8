// `realm apply`: the session's whole change (its baseline → its latest state) onto the user's working tree,
// the way `git am --3way` does it: a plain apply when the patch fits, a 3-way merge when the user moved on.
import fs from 'node:fs/promises'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { diffTrees, git, sessionTrees, withScratch } from '../git/repo.js'
import { parsePatch, type FilePatch } from '../patch/parse.js'
import { patchPath, type Session } from '../session/store.js'
import { runPatches } from '../session/patches.js'

export type ApplyResult =
  | { status: 'applied'; files: FilePatch[]; method: 'clean' | '3way' }
  | { status: 'conflicts'; files: FilePatch[]; conflicts: string[] }
  | { status: 'would-apply'; files: FilePatch[]; method: 'clean' | '3way' }

/** Paths the patch reads or writes in the working tree. */
export function touchedPaths(files: FilePatch[]): string[] {
  return [...new Set(files.flatMap((f) => [f.oldPath, f.path]))]
}

// Paths are literal: a file named `*.txt` must not match every text file.
const LITERAL = { GIT_LITERAL_PATHSPECS: '1' }

/**
 * Touched paths whose working-tree content differs from the index (unstaged edits) or that exist untracked.
 * A 3-way merge works from the index, so these are exactly the edits it could not protect.
 */
export async function unprotectedEdits(root: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return []
  const modified = await git(root, ['diff', '--name-only', '-z', '--no-renames', '--no-ext-diff', '--', ...paths], { env: LITERAL })
  const untracked = await git(root, ['ls-files', '--others', '-z', '--', ...paths], { env: LITERAL })
  return [...new Set([...String(modified.stdout).split('\0'), ...String(untracked.stdout).split('\0')].filter(Boolean))].sort()
}

async function unmergedPaths(root: string, paths: string[]): Promise<string[]> {
  const result = await git(root, ['diff', '--name-only', '-z', '--diff-filter=U', '--', ...paths], { env: LITERAL })
  return String(result.stdout).split('\0').filter(Boolean)
}

/**
 * The session's change from its baseline as one patch file in `scratch`. With `objects: 'repository'` the
 * blobs on both sides are written into the user's object store: a 3-way merge records them in the index
 * (conflict stages), and an index entry must never point at an object that is deleted with the scratch dir.
 */
async function writeCombinedPatch(session: Session, scratch: string, objects: 'scratch' | 'repository'): Promise<string> {
  const dir = path.join(scratch, objects)
  await fs.mkdir(dir)
  const baseline = await patchPath(session, 'baseline.patch')
  const trees = await sessionTrees(session.projectDir, dir, session.meta.baseCommit, baseline, await runPatches(session), objects)
  const file = path.join(dir, 'session.patch')
  await fs.writeFile(file, await diffTrees(session.projectDir, trees.builder.env, trees.baseline, trees.final))
  return file
}

async function applies(root: string, patch: string): Promise<boolean> {
  return (await git(root, ['apply', '--check', '--binary', patch], { reject: false })).exitCode === 0
}

export async function applySession(session: Session, options: { check?: boolean } = {}): Promise<ApplyResult> {
  const root = session.projectDir
  if ((await runPatches(session)).length === 0) throw new UserError(`session '${session.name}' has no changes to apply`)
  return withScratch(async (scratch) => {
    const plain = await writeCombinedPatch(session, scratch, 'scratch')
    const files = parsePatch(await fs.readFile(plain, 'utf8'))
    if (files.length === 0) throw new UserError(`session '${session.name}' has no changes to apply (its runs cancel out)`)

    // First choice: the patch fits the working tree as it is. Only the files it names change; the index does not.
    if (await applies(root, plain)) {
      if (options.check) return { status: 'would-apply', files, method: 'clean' }
      await git(root, ['apply', '--binary', plain])
      return { status: 'applied', files, method: 'clean' }
    }

    // The user moved on: merge 3-way from the index. git refuses files with unstaged edits only with a cryptic
    // "does not match index", and would not know an untracked file at all; name them and say what to do.
    const blocked = await unprotectedEdits(root, touchedPaths(files))
    if (blocked.length) {
      throw new UserError(
        `cannot apply: the session changes ${list(blocked)}, which ${blocked.length === 1 ? 'has' : 'have'} uncommitted edits that a 3-way merge would not protect — commit or stage them (git add), then run 'realm apply ${session.name}' again`,
      )
    }
    if (options.check) return { status: 'would-apply', files, method: '3way' }

    const merged = await writeCombinedPatch(session, scratch, 'repository')
    const result = await git(root, ['apply', '--3way', '--binary', merged], { reject: false })
    const conflicts = await unmergedPaths(root, touchedPaths(files))
    if (conflicts.length) return { status: 'conflicts', files, conflicts }
    if (result.exitCode !== 0) {
      const reason =
        String(result.stderr)
          .split('\n')
          .find((l) => l.startsWith('error:')) ?? `git apply exited ${result.exitCode}`
      throw new UserError(`cannot apply the session's changes (nothing was changed): ${reason.replace(/^error:\s*/, '')}`)
    }
    return { status: 'applied', files, method: '3way' }
  })
}

function list(paths: string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ')
}
