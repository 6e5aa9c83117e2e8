// The user's remote: fetching the branch a `--remote` session starts from.
import { firstLine, UserError } from '../common/errors.js'
import { DEFAULT_REMOTE } from './defaults.js'
import { git } from './exec.js'
import { resolveCommit } from './repo.js'

export async function remoteUrl(root: string, remote: string): Promise<string> {
  const result = await git(root, ['remote', 'get-url', '--push', remote], { reject: false, isolated: false })
  if (result.exitCode !== 0) {
    throw new UserError(`the project has no remote '${remote}' — add one with 'git remote add ${remote} <url>'`)
  }
  return String(result.stdout).trim()
}

/** Fetches <remote>/<branch> (objects and the remote-tracking ref only) and returns its tip. */
export async function fetchRemoteBranch(
  root: string,
  branch: string,
  remote = DEFAULT_REMOTE,
): Promise<{ remote: string; commit: string }> {
  await remoteUrl(root, remote)
  // The user's own configuration (credentials, ssh command, insteadOf) is needed to reach the remote.
  const result = await git(
    root,
    ['fetch', '--no-tags', '--no-write-fetch-head', remote, `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`],
    { reject: false, isolated: false },
  )
  if (result.exitCode !== 0) {
    const line = firstLine(String(result.stderr))
    if (/couldn't find remote ref/i.test(line))
      throw new UserError(`${remote} has no branch '${branch}' — push it first, or start without --remote`)
    throw new UserError(`cannot fetch ${remote}/${branch}: ${line}`)
  }
  const commit = await resolveCommit(root, `refs/remotes/${remote}/${branch}`)
  if (!commit) throw new UserError(`${remote}/${branch} was fetched but does not point at a commit`)
  return { remote, commit }
}
