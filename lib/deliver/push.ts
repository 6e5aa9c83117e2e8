// `realm push`: the session as commits on top of the commit it started from, pushed to a branch. Built in a
// private index (no checkout, no worktree), so the cost follows the patch and the user's working tree, index,
// HEAD and branches are never involved. The repository gains objects and the remote-tracking ref, nothing else.
import { UserError } from '../common/errors.js'
import { git, readGitSettings, sessionTrees, withScratch } from '../git/repo.js'
import { patchDigest } from '../session/pushed.js'
import { remoteUrl } from '../git/remote.js'
import { patchPath, updateSession, type Session } from '../session/store.js'
import { runPatches } from '../session/patches.js'

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
}

/** What the remote branch must point at for realm to overwrite it: '' means it must not exist yet. */
export function expectedRemoteTip(meta: Session['meta'], remote: string, branch: string): string {
  if (meta.pushed && meta.pushed.remote === remote && meta.pushed.branch === branch) return meta.pushed.commit
  // A `new --remote` session builds on the branch's tip: its first push is a fast-forward from there.
  if (meta.remote && meta.remote.name === remote && meta.remote.branch === branch) return meta.baseCommit
  return ''
}

async function identityEnv(root: string): Promise<Record<string, string>> {
  const { name, email } = (await readGitSettings(root)).identity
  if (!name || !email) {
    throw new UserError(
      "git has no user.name/user.email for this project — set them (git config --global user.name '…'; git config --global user.email '…') and push again",
    )
  }
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email }
}

/** Makes the session's commits in the repository's object store and returns the tip. */
async function makeCommits(session: Session, scratch: string): Promise<{ commit: string; baselineCommit?: string }> {
  const root = session.projectDir
  const [baseline, runs, identity] = await Promise.all([patchPath(session, 'baseline.patch'), runPatches(session), identityEnv(root)])
  const trees = await sessionTrees(root, scratch, session.meta.baseCommit, baseline, runs, 'repository')
  const commitTree = async (tree: string, parent: string, message: string) =>
    String(
      (await git(root, ['commit-tree', '--no-gpg-sign', '-p', parent, '-m', message, tree], { env: { ...trees.builder.env, ...identity } }))
        .stdout,
    ).trim()

  let parent = session.meta.baseCommit
  let baselineCommit: string | undefined
  // The user's uncommitted work goes in its own commit, so a reviewer sees what was theirs and what the agent's.
  if (baseline) {
    baselineCommit = await commitTree(
      trees.baseline,
      parent,
      `realm: uncommitted changes at session start\n\nThe working tree of ${root} when session '${session.name}' started.`,
    )
    parent = baselineCommit
  }
  if (trees.final === trees.baseline) throw new UserError(`session '${session.name}' has nothing to push: its runs changed nothing`)
  const commit = await commitTree(
    trees.final,
    parent,
    `realm: session '${session.name}'\n\nThe agent's work from realm session '${session.name}'.`,
  )
  return { commit, baselineCommit }
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

  return withScratch(async (scratch) => {
    // Nothing changed since the last push to the same place: push the same commit again (a no-op if the remote
    // still has it), instead of a new commit that differs only in its date.
    const same = pushedBefore && pushedBefore.digest === digest && expected === pushedBefore.commit
    const made = same ? { commit: pushedBefore.commit } : await makeCommits(session, scratch)
    const target = `refs/heads/${options.branch}`
    const args = [
      'push',
      '--porcelain', // one status line per ref, stable to read
      '--no-verify', // the user's pre-push hook must not run on realm's behalf (hooksPath is off too)
      '--no-follow-tags', // push.followTags in the user's config would push their tags along
      '--recurse-submodules=no', // push.recurseSubmodules could push submodule commits
      '--no-signed',
      options.force ? '--force' : `--force-with-lease=${target}:${expected}`, // replace only what realm expects to find
      options.remote,
      `${made.commit}:${target}`,
    ]
    // Reaching the remote needs the user's own configuration: credentials, ssh command, insteadOf.
    const result = await git(root, args, { reject: false, isolated: false })
    const output = `${result.stdout}\n${result.stderr}`
    if (result.exitCode !== 0) {
      if (/\[rejected\][^\n]*(stale info|fetch first|non-fast-forward)/.test(output)) throw foreignBranch(options, expected)
      const line =
        String(result.stderr)
          .split('\n')
          .find((l) => /^(fatal|error|remote):/.test(l) && !/failed to push some refs/.test(l)) ??
        String(result.stderr)
          .split('\n')
          .find((l) => l.trim()) ??
        `git push exited ${result.exitCode}`
      throw new UserError(`push to ${options.remote} failed (nothing was changed there): ${line.replace(/^(fatal|error):\s*/, '')}`)
    }
    const upToDate = /\[up to date\]/.test(output)
    await updateSession(
      session,
      {},
      { ...session.meta, pushed: { remote: options.remote, branch: options.branch, commit: made.commit, digest } },
    )
    return { ...made, upToDate, replaced: expected || undefined }
  })
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
