// The user's working tree and index, as `realm apply` reads and writes them: the one place realm changes them.
import { git, nulPaths } from './exec.js'

// Paths are literal: a file named `*.txt` must not match every text file.
const LITERAL = { GIT_LITERAL_PATHSPECS: '1' }

// The kernel limits a command line (a few MB in all, less with a big environment); a session of 10,000 files
// names more than that, so paths go to git in batches of at most this many bytes.
const BATCH_BYTES = 64 * 1024

/** `paths` cut into batches that fit on a command line. */
function batches(paths: string[]): string[][] {
  const out: string[][] = []
  let batch: string[] = []
  let bytes = 0
  for (const p of paths) {
    const size = Buffer.byteLength(p) + 1
    if (batch.length && bytes + size > BATCH_BYTES) {
      out.push(batch)
      batch = []
      bytes = 0
    }
    batch.push(p)
    bytes += size
  }
  if (batch.length) out.push(batch)
  return out
}

/** The NUL-separated paths `git <args> -- <batch>` prints, over every batch of `paths`. */
async function pathsFromBatches(root: string, args: string[], paths: string[]): Promise<string[]> {
  const found: string[] = []
  for (const batch of batches(paths)) {
    const result = await git(root, [...args, '--', ...batch], { env: LITERAL })
    for (const p of nulPaths(String(result.stdout))) found.push(p)
  }
  return found
}

/**
 * Of `paths`, those whose working-tree content differs from the index (unstaged edits) or that exist untracked.
 * A 3-way merge works from the index, so these are exactly the edits it could not protect.
 */
export async function unprotectedEdits(root: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return []
  const [modified, untracked] = await Promise.all([
    pathsFromBatches(root, ['diff', '--name-only', '-z', '--no-renames', '--no-ext-diff'], paths),
    pathsFromBatches(root, ['ls-files', '--others', '-z'], paths),
  ])
  return [...new Set([...modified, ...untracked])].sort()
}

/** Of `paths`, those left in conflict (unmerged) in the index. */
export async function unmergedPaths(root: string, paths: string[]): Promise<string[]> {
  return pathsFromBatches(root, ['diff', '--name-only', '-z', '--diff-filter=U'], paths)
}

/** Applies `patch` to the working tree: plainly (only the files it names change), or 3-way through the index. */
export async function applyToWorktree(
  root: string,
  patch: string,
  method: 'clean' | '3way',
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const result = await git(root, ['apply', ...(method === '3way' ? ['--3way'] : []), '--binary', patch], { reject: false })
  if (result.exitCode === 0) return { ok: true }
  const reason =
    String(result.stderr)
      .split('\n')
      .find((l) => l.startsWith('error:')) ?? `git apply exited ${result.exitCode}`
  return { ok: false, reason: reason.replace(/^error:\s*/, '') }
}
