// Pushing one commit to one branch of the user's remote, as a compare-and-swap on the branch's tip.
import { firstLine } from '../common/errors.js'
import { git } from './exec.js'

export type PushRefResult =
  | { status: 'pushed' | 'up-to-date' }
  /** the branch's tip is not what the caller expected (someone else pushed, or it is not realm's branch) */
  | { status: 'tip-moved' }
  | { status: 'failed'; reason: string }

/**
 * Pushes `commit` to `branch` of `remote`, replacing only `expected` ('' means the branch must not exist yet),
 * or anything with `force`.
 */
export async function pushRef(
  root: string,
  remote: string,
  commit: string,
  branch: string,
  expected: string,
  force = false,
): Promise<PushRefResult> {
  const target = `refs/heads/${branch}`
  const args = [
    'push',
    '--porcelain', // one status line per ref, stable to read
    '--no-verify', // the user's pre-push hook must not run on realm's behalf (hooksPath is off too)
    '--no-follow-tags', // push.followTags in the user's config would push their tags along
    '--recurse-submodules=no', // push.recurseSubmodules could push submodule commits
    '--no-signed',
    force ? '--force' : `--force-with-lease=${target}:${expected}`, // replace only what realm expects to find
    remote,
    `${commit}:${target}`,
  ]
  // Reaching the remote needs the user's own configuration: credentials, ssh command, insteadOf.
  const result = await git(root, args, { reject: false, isolated: false })
  const output = `${result.stdout}\n${result.stderr}`
  if (result.exitCode === 0) return { status: /\[up to date\]/.test(output) ? 'up-to-date' : 'pushed' }
  if (/\[rejected\][^\n]*(stale info|fetch first|non-fast-forward)/.test(output)) return { status: 'tip-moved' }
  const stderr = String(result.stderr)
  const line =
    stderr.split('\n').find((l) => /^(fatal|error|remote):/.test(l) && !/failed to push some refs/.test(l)) ??
    (firstLine(stderr) || `git push exited ${result.exitCode}`)
  return { status: 'failed', reason: line.replace(/^(fatal|error):\s*/, '') }
}
