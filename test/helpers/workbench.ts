// Sessions made without Docker, for tests that call lib/ directly: a workbench (a clone of the project) where
// the test plays the agent, and patches cut from it by real git, stored through realm's own store.
import path from 'node:path'

import { execa } from 'execa'

import { createSession, loadSession, updateSession, type PatchFile, type Session, type SessionMeta } from '../../lib/session/store.ts'
import { changeFiles, type FileChange, GIT_ENV, git, treeSnapshot } from './repo.js'

export interface Workbench {
  dir: string
  /** The tree of the commit the workbench started at. */
  start: string
  /** Changes files in the workbench (see changeFiles). */
  change(changes: Record<string, FileChange>): Promise<void>
  /** The patch from the last capture (at first: the commit the workbench started at) to the files as they are now. */
  capture(): Promise<string>
  /** The tree of the files as they are now, to diff from later. */
  snapshot(): Promise<string>
  /** The patch between two trees (see snapshot), in the form realm stores. */
  diff(from: string, to: string): Promise<string>
  /** The workbench's files, as treeSnapshot describes them. */
  tree(): Promise<Record<string, string>>
}

/**
 * Patches in the form realm stores them: binary, full object names, renames found, no color or external
 * drivers, a/ and b/ prefixes, paths unquoted (the container's options, written out here on their own).
 */
const PATCH_ARGS = ['--binary', '--full-index', '-M', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/']

/** A clone of `project` at `commit` (default HEAD) in `dir`, which must not exist yet. */
export async function workbench(project: string, dir: string, commit = 'HEAD'): Promise<Workbench> {
  const start = await git(project, 'rev-parse', `${commit}^{commit}`)
  await git(path.dirname(dir), 'clone', '-q', '--no-checkout', project, dir)
  await git(dir, 'checkout', '-q', '--detach', start)
  const snapshot = async () => {
    await git(dir, 'add', '-A')
    return git(dir, 'write-tree')
  }
  const diff = async (from: string, to: string) => {
    const args = ['-c', 'core.quotePath=false', 'diff-tree', '-r', ...PATCH_ARGS, from, to]
    return (await execa('git', args, { cwd: dir, env: GIT_ENV, stripFinalNewline: false })).stdout
  }
  const startTree = await git(dir, 'rev-parse', `${start}^{tree}`)
  let last = startTree
  return {
    dir,
    start: startTree,
    change: (changes) => changeFiles(dir, changes),
    async capture() {
      const now = await snapshot()
      const patch = await diff(last, now)
      last = now
      return patch
    },
    snapshot,
    diff,
    tree: () => treeSnapshot(dir),
  }
}

/** The tree that `runs` make on `project`, one after the other, in a workbench of their own in `dir`. */
export async function treeAfterRuns(project: string, dir: string, runs: Array<Record<string, FileChange>>) {
  const bench = await workbench(project, dir)
  for (const run of runs) await bench.change(run)
  return bench.tree()
}

/**
 * A session of `project` starting at its HEAD, made through the store with the given patch files (an empty or
 * missing one is left out, as realm leaves it out), and loaded back as a command would load it.
 */
export async function makeSession(
  name: string,
  project: string,
  patches: Partial<Record<PatchFile, string>> = {},
  meta: Partial<SessionMeta> = {},
): Promise<Session> {
  const baseCommit = await git(project, 'rev-parse', 'HEAD')
  const session = await createSession(name, project, { version: 1, baseCommit, subdir: '', image: 'realm-test', ...meta })
  const updates: Record<string, { data: string }> = {}
  for (const [file, text] of Object.entries(patches)) if (text) updates[file] = { data: text }
  if (Object.keys(updates).length) await updateSession(session, updates)
  return loadSession(name)
}

/**
 * A session as realm would have saved it: `userEdits` are made in the project's working tree (uncommitted, so
 * they are the baseline) and in a workbench at `benchDir`, where each of `runs` is one run of the agent;
 * base.patch holds every run but the last, from the baseline, and changes.patch the last. Returns the session,
 * the tree the agent left, and the workbench for more runs.
 */
export async function agentSession(
  name: string,
  project: string,
  benchDir: string,
  runs: Array<Record<string, FileChange>>,
  userEdits: Record<string, FileChange> = {},
): Promise<{ session: Session; agentTree: Record<string, string>; bench: Workbench }> {
  const bench = await workbench(project, benchDir)
  await changeFiles(project, userEdits)
  await bench.change(userEdits)
  const baselineTree = await bench.snapshot()
  let beforeLast = baselineTree
  for (const [i, run] of runs.entries()) {
    if (i === runs.length - 1) beforeLast = await bench.snapshot()
    await bench.change(run)
  }
  const final = await bench.snapshot()
  const session = await makeSession(name, project, {
    'baseline.patch': await bench.diff(bench.start, baselineTree),
    'base.patch': await bench.diff(baselineTree, beforeLast),
    'changes.patch': await bench.diff(beforeLast, final),
  })
  return { session, agentTree: await bench.tree(), bench }
}
