// What realm stores of a run is the patch git produces on the host from the trees the run's patches verifiably
// make, never the container's bytes as they came: the diff, the risk flags, apply and push then all read a patch
// in git's own form, whatever odd headers or layout the container's patch had.
import fs from 'node:fs/promises'
import path from 'node:path'

import { git, PATCH_OPTIONS } from '../git/exec.js'
import { treeBuilder } from '../git/trees.js'

export interface RunPatches {
  /** new sessions: the user's work relative to the commit (realm's private copy of the container's) */
  baseline?: string
  /** resumed sessions: the patches the session already holds, applied after the baseline, in order */
  earlier: string[]
  /** the run's patch (realm's private copy of the container's), relative to all of the above */
  changes?: string
}

/** The stored patches, regenerated: each a file in `dir`, undefined when it would be empty. */
export interface RegeneratedPatches {
  baseline?: string
  /** resumed sessions: everything before this run in one patch from the baseline */
  base?: string
  changes?: string
  /** the session's whole change after the run, from the baseline (what readers read) */
  session?: string
}

/**
 * Applies the patches in a private index over the project's objects, in `scratch` (throws PatchDoesNotApply
 * when one does not apply), then writes git's own patch between each pair of trees into `scratch`. A tree is
 * written only where a patch changed the index: every git process counts in the time a run takes.
 */
export async function regeneratePatches(root: string, commit: string, patches: RunPatches, scratch: string): Promise<RegeneratedPatches> {
  const builder = await treeBuilder(root, scratch, commit, 'scratch')
  const start = `${commit}^{tree}`
  let current = start
  const tree = async (applied: Array<string | undefined>) => {
    const present = applied.filter((p): p is string => p !== undefined)
    for (const patch of present) await builder.apply(patch)
    if (present.length) current = await builder.writeTree()
    return current
  }
  const baseline = await tree([patches.baseline])
  const before = await tree(patches.earlier)
  const after = await tree([patches.changes])
  const diff = async (name: string, from: string, to: string) => {
    if (from === to) return undefined
    const file = path.join(scratch, name)
    // --output: git writes the bytes itself (file names need not be UTF-8), streamed, never held in memory.
    await git(root, ['diff-tree', '-r', ...PATCH_OPTIONS, `--output=${file}`, from, to], { env: builder.env })
    // A patch that changed nothing git records (a mode git ignores, say) leaves an empty file: no changes.
    return (await fs.stat(file)).size > 0 ? file : undefined
  }
  const changes = await diff('changes.patch', before, after)
  return {
    baseline: await diff('baseline.patch', start, baseline),
    base: await diff('base.patch', baseline, before),
    changes,
    // Without earlier runs this is the run's own patch: the same file, not a second diff.
    session: before === baseline ? changes : await diff('session.patch', baseline, after),
  }
}
