// `realm push`: the session as commits on top of the commit it started from, pushed to a branch. Built in a
// private index (no checkout, no worktree), so the cost follows the patch and the user's working tree, index,
// HEAD and branches are never involved. The repository gains objects and the remote-tracking ref, nothing else.
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { pushRef } from '../git/push.js'
import { withScratch } from '../git/scratch.js'
import { identityEnv, readGitSettings } from '../git/settings.js'
import { commitTree, diffTreesToFile, sessionTrees } from '../git/trees.js'
import type { PatchSummary } from '../patch/summarize.js'
import { patchDigest } from '../session/pushed.js'
import { remoteUrl } from '../git/remote.js'
import { patchPath, updateSession, type Session } from '../session/store.js'
import { runPatches, summarizePatch, summarizeSessionPatch } from '../session/patches.js'

export interface PushOptions {
  remote: string
  branch: string
  force?: boolean
}

export interface PushResult {
  commit: string
  /** the commit holding the user's uncommitted work at session start, when there was any */
  baselineCommit?: string
  /** what the remote branch pointed at before, when realm knew */
  replaced?: string
  upToDate: boolean
  /** what the pushed commit changes, from the session's baseline */
  summary: PatchSummary
}

/** What the remote branch must point at for realm to overwrite it: '' means it must not exist yet. */
export function expectedRemoteTip(meta: Session['meta'], remote: string, branch: string): string {
  if (meta.pushed && meta.pushed.remote === remote && meta.pushed.branch === branch) return meta.pushed.commit
  // A `new --remote` session builds on the branch's tip: its first push is a fast-forward from there.
  if (meta.remote && meta.remote.name === remote && meta.remote.branch === branch) return meta.baseCommit
  return ''
}

/** The user's own identity for realm's commits: pushed work is theirs, so no stand-in name will do. */
async function committer(root: string): Promise<Record<string, string>> {
  const { identity } = await readGitSettings(root)
  if (!identity.name || !identity.email) {
    throw new UserError(
      "git has no user.name/user.email for this project — set them (git config --global user.name '…'; git config --global user.email '…') and push again",
    )
  }
  return identityEnv(identity)
}

/** Makes the session's commits in the repository's object store and returns the tip. */
async function makeCommits(session: Session, scratch: string): Promise<{ commit: string; baselineCommit?: string }> {
  const root = session.projectDir
  const [baseline, runs, identity] = await Promise.all([patchPath(session, 'baseline.patch'), runPatches(session), committer(root)])
  const trees = await sessionTrees(root, scratch, session.meta.baseCommit, baseline, runs, 'repository', true)
  const commit = (tree: string, parent: string, message: string) =>
    commitTree(root, { ...trees.builder.env, ...identity }, tree, parent, message)

  let parent = session.meta.baseCommit
  let baselineCommit: string | undefined
  // The user's uncommitted work goes in its own commit, so a reviewer sees what was theirs and what the agent's.
  if (baseline) {
    baselineCommit = await commit(
      trees.baseline,
      parent,
      `realm: uncommitted changes at session start\n\nThe working tree of ${root} when session '${session.name}' started.`,
    )
    parent = baselineCommit
  }
  if (trees.final === trees.baseline) throw new UserError(`session '${session.name}' has nothing to push: its runs changed nothing`)
  const tip = await commit(
    trees.final,
    parent,
    `realm: session '${session.name}'\n\nThe agent's work from realm session '${session.name}'.`,
  )
  return { commit: tip, baselineCommit }
}

export async function pushSession(session: Session, options: PushOptions): Promise<PushResult> {
  const root = session.projectDir
  const runs = await runPatches(session)
  if (runs.length === 0)
    throw new UserError(`session '${session.name}' has nothing to push — run 'realm resume ${session.name}' to give the agent more to do`)
  await remoteUrl(root, options.remote)
  const digest = await patchDigest(runs)
  const expected = expectedRemoteTip(session.meta, options.remote, options.branch)
  const pushedBefore = session.meta.pushed

  // A single run patch is the pushed change as it is: read it while the commit is made and pushed.
  const early = runs.length === 1 ? summarizeSessionPatch(session, runs[0]) : undefined
  early?.catch(() => undefined) // awaited below; a failure must not go unhandled before then

  return withScratch(async (scratch) => {
    // Nothing changed since the last push to the same place: push the same commit again (a no-op if the remote
    // still has it), instead of a new commit that differs only in its date.
    const same = pushedBefore && pushedBefore.digest === digest && expected === pushedBefore.commit
    const made = same ? { commit: pushedBefore.commit } : await makeCommits(session, scratch)
    const pushed = await pushRef(root, options.remote, made.commit, options.branch, expected, options.force)
    if (pushed.status === 'tip-moved') throw foreignBranch(options, expected)
    if (pushed.status === 'failed') throw new UserError(`push to ${options.remote} failed (nothing was changed there): ${pushed.reason}`)
    const upToDate = pushed.status === 'up-to-date'
    await updateSession(
      session,
      {},
      { ...session.meta, pushed: { remote: options.remote, branch: options.branch, commit: made.commit, digest } },
    )
    const summary = early ? await early : await pushedSummary(root, made.commit, scratch)
    return { ...made, upToDate, replaced: expected || undefined, summary }
  })
}

/**
 * What the pushed commit of several runs changes: the diff between it and its parent (the baseline), both in
 * the repository by now, so nothing is built twice.
 */
async function pushedSummary(root: string, commit: string, scratch: string): Promise<PatchSummary> {
  const file = path.join(scratch, 'pushed.patch')
  await diffTreesToFile(root, {}, `${commit}^`, commit, file)
  return summarizePatch(file)
}

function foreignBranch(options: PushOptions, expected: string): UserError {
  const where = `${options.remote}/${options.branch}`
  if (!expected) {
    return new UserError(
      `${where} already exists and realm did not create it — push to another branch with --branch <name>, or overwrite it with --force`,
    )
  }
  return new UserError(
    `${where} changed since realm last saw it (expected ${expected.slice(0, 12)}) — someone else pushed there; push to another branch with --branch <name>, or overwrite it with --force`,
  )
}
