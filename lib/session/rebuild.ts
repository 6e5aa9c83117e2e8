// The session's files for a new list of kept runs (after an undo, an undo --restore, or for a fork at an earlier
// run): the kept runs' stored patches applied in order on the baseline in a private index, each run after the
// change verified as a save verifies, and every patch that depends on the order made anew by git.
import fs from 'node:fs/promises'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { PATCH_OPTIONS, git } from '../git/exec.js'
import { PatchDoesNotApply, treeBuilder } from '../git/trees.js'
import { runPatchName, type RunRecord, SESSION_PATCH } from './history.js'
import type { FileUpdate } from './transaction.js'

/** A run whose patch does not apply on the state the change leaves before it: nothing is changed. */
export class RunDoesNotApply extends UserError {
  constructor(
    readonly run: number,
    readonly files: string[],
    detail: string,
  ) {
    super(detail)
  }
}

export interface Rebuild {
  /** the project's repository and the commit the session started from */
  root: string
  baseCommit: string
  /** the session's baseline.patch, if it has one */
  baseline?: string
  /** the runs that make the new state, in order */
  kept: RunRecord[]
  /** run `record`'s stored patch (undefined: it changed nothing) */
  patchOf(record: RunRecord): string | undefined
  /** the first run whose place changed: runs from it on are verified again and their patches made anew */
  from: number
}

/** The paths git names in its message about a patch that does not apply (one line per file). */
export function pathsInApplyErrors(output: string): string[] {
  const paths = new Set<string>()
  for (const line of output.split('\n')) {
    const failed = /^error: patch failed: (.+):\d+$/.exec(line)
    const other =
      /^error: (.+): (?:patch does not apply|does not exist in index|already exists in index|does not match index|wrong type)$/.exec(line)
    const found = failed?.[1] ?? other?.[1]
    if (found) paths.add(found)
  }
  return [...paths]
}

/**
 * The updates that give the session the state of `plan.kept`: each re-applied run's own patch (when git makes it
 * differently now), base.patch, changes.patch and session.patch. Objects stay in `scratch`. Throws RunDoesNotApply.
 */
export async function rebuildUpdates(plan: Rebuild, scratch: string): Promise<Record<string, FileUpdate>> {
  const { root } = plan
  const builder = await treeBuilder(root, scratch, plan.baseCommit, 'scratch')
  const diff = async (name: string, from: string, to: string) => {
    if (from === to) return undefined
    const file = path.join(scratch, name)
    // --output: git writes the bytes itself, streamed, never held in memory (as a save does).
    await git(root, ['diff-tree', '-r', ...PATCH_OPTIONS, `--output=${file}`, from, to], { env: builder.env })
    return (await fs.stat(file)).size > 0 ? file : undefined
  }
  if (plan.baseline) await builder.applyStored(plan.baseline)
  const baselineTree = await builder.writeTree()
  let current = baselineTree
  // Runs before `from` are as they were: applied without a tree after each (trees are git processes, and time).
  let pending = false
  const tree = async () => {
    if (pending) current = await builder.writeTree()
    pending = false
    return current
  }
  const updates: Record<string, FileUpdate> = {}
  const place = (file: string | undefined): FileUpdate => (file ? { copyFrom: file } : { remove: true })
  let beforeLast = baselineTree
  let lastPatch: string | undefined
  for (const [i, record] of plan.kept.entries()) {
    const patch = plan.patchOf(record)
    if (i === plan.kept.length - 1) beforeLast = await tree()
    if (record.number < plan.from) {
      if (patch) await builder.applyStored(patch)
      pending ||= patch !== undefined
      lastPatch = patch
      continue
    }
    const before = await tree()
    if (patch) {
      try {
        await builder.applyChecked(patch)
      } catch (error) {
        if (!(error instanceof PatchDoesNotApply)) throw error
        const files = pathsInApplyErrors(error.output)
        throw new RunDoesNotApply(record.number, files, error.detail)
      }
      pending = true
    }
    const after = await tree()
    const made = await diff(`run-${record.number}.patch`, before, after)
    // The same bytes as before (the usual case: the run touched nothing the change touched) stay the same file.
    if (await sameBytes(made, patch)) lastPatch = patch
    else {
      updates[runPatchName(record.number)] = place(made)
      lastPatch = made
    }
  }
  const final = await tree()
  updates[SESSION_PATCH] = place(await diff('session.patch', baselineTree, final))
  updates['base.patch'] = place(await diff('base.patch', baselineTree, beforeLast))
  updates['changes.patch'] = place(lastPatch)
  return updates
}

/** Whether two patch files (either may be undefined: no changes) hold the same bytes. */
async function sameBytes(a: string | undefined, b: string | undefined): Promise<boolean> {
  if (!a || !b) return a === b
  const [x, y] = await Promise.all([fs.stat(a), fs.stat(b)])
  if (x.size !== y.size) return false
  const [p, q] = await Promise.all([fs.readFile(a), fs.readFile(b)])
  return p.equals(q)
}
