// What realm stores of a run is the patch git produces on the host from the trees the run's patches verifiably
// make, never the container's bytes as they came: the diff, the risk flags, apply and push then all read a patch
// in git's own form, whatever odd headers or layout the container's patch had.
import fs from 'node:fs/promises'
import path from 'node:path'

import { git, nulPaths, PATCH_OPTIONS } from '../git/exec.js'
import { type TreeBuilder, treeBuilder } from '../git/trees.js'
import { hiddenTest } from './hidden.js'

export interface RunPatches {
  /** new sessions: the user's work relative to the commit (realm's private copy of the container's) */
  baseline?: string
  /** resumed sessions: the patches the session already holds, applied after the baseline, in order */
  earlier: string[]
  /** the run's patch (realm's private copy of the container's), relative to all of the above */
  changes?: string
  /** the files hidden from the agent in this run: their absence is no deletion (see keepHidden) */
  hidden?: readonly string[]
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
  let after = await tree([patches.changes])
  if (after !== before && patches.hidden?.length) after = await keepHidden(root, builder, commit, before, after, patches.hidden)
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

/**
 * The run's tree with every hidden file it deleted put back, where the agent could not have seen that file: the
 * session held it as at the session's commit, so the agent's view of the project lacked it. The agent cannot
 * delete what it never saw, so such an absence is the hiding, not its work, and `apply` or `push` must never
 * delete the user's file for it. This is done here, on the host, because whatever the container says about
 * hidden files comes from where the agent could have written. A hidden file the session itself changed was the
 * agent's to see, and its deletion stands.
 */
async function keepHidden(
  root: string,
  builder: TreeBuilder,
  commit: string,
  before: string,
  after: string,
  hidden: readonly string[],
): Promise<string> {
  const env = builder.env
  const isHidden = hiddenTest(hidden)
  const deleted = nulPaths(
    String((await git(root, ['diff-tree', '-r', '-z', '--no-renames', '--name-only', '--diff-filter=D', before, after], { env })).stdout),
  ).filter(isHidden)
  if (deleted.length === 0) return after
  const entries = async (tree: string) => {
    const text = String(
      (await git(root, ['ls-tree', '-r', '-z', '--full-tree', tree, '--', ...deleted], { env: { ...env, GIT_LITERAL_PATHSPECS: '1' } }))
        .stdout,
    )
    return new Map(nulPaths(text).map((line) => [line.slice(line.indexOf('\t') + 1), line]))
  }
  const [was, committed] = await Promise.all([entries(before), entries(commit)])
  const restore = [...was].filter(([p, line]) => committed.get(p) === line).map(([, line]) => `${line}\0`)
  if (restore.length === 0) return after
  await git(root, ['update-index', '-z', '--index-info'], { env, input: restore.join('') })
  return builder.writeTree()
}
