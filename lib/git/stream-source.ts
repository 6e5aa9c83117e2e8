// What a remote engine's container needs of the project, read on the host (the engine sees none of its files):
// the objects of the session's commit as a pack (only those the engine's cache lacks), the user's uncommitted
// and untracked work as a patch (a new session's baseline), and the files git ignores. The user's repository
// is only read: every object realm hashes goes to a scratch object store, and git runs on a scratch git
// directory of realm's own over the user's work tree, with attributes that switch off filters and conversions
// (what the container's prepare.sh does with its own repository), so no filter or hook of the repository runs.
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from '../common/errors.js'
import { git, nulPaths, PATCH_OPTIONS } from './exec.js'

/** docker/lib/prepare.sh's neutral attributes: nothing may rewrite content or hide it from a patch. */
const NEUTRAL_ATTRIBUTES = '* -text -filter !diff !merge -ident !eol -working-tree-encoding\n'

interface GitDirs {
  /** the worktree's own git directory (its index) */
  gitDir: string
  /** the repository's (objects, info/exclude) */
  commonDir: string
}

async function gitDirs(root: string): Promise<GitDirs> {
  const out = String((await git(root, ['rev-parse', '--absolute-git-dir', '--git-common-dir'])).stdout).split('\n')
  return { gitDir: out[0], commonDir: path.resolve(root, out[1]) }
}

/**
 * The commits of `candidates` that the repository has (realm recorded them as sent to the engine's cache; the
 * user may since have dropped one, which must then not be named to pack-objects).
 */
export async function commitsPresent(root: string, candidates: readonly string[]): Promise<string[]> {
  const wanted = candidates.filter((c) => /^[0-9a-f]{40,64}$/.test(c))
  if (wanted.length === 0) return []
  const result = await git(root, ['cat-file', '--batch-check=%(objecttype) %(objectname)'], {
    input: wanted.join('\n'),
    reject: false,
  })
  return String(result.stdout)
    .split('\n')
    .filter((line) => line.startsWith('commit '))
    .map((line) => line.slice('commit '.length))
}

/**
 * The objects reachable from `commit` but not from any of `known` (which the engine's cache holds), as a pack
 * file in `file`; undefined when there are none to send. A pack realm makes, not a bundle: it needs no ref
 * in the user's repository.
 */
export async function packObjects(root: string, commit: string, known: readonly string[], file: string): Promise<string | undefined> {
  if (known.includes(commit)) return undefined
  const revs = [commit, ...known.map((k) => `^${k}`)].join('\n')
  await git(root, ['pack-objects', '--revs', '--stdout', '-q'], { input: `${revs}\n`, stdout: { file } })
  // An empty pack is a header and a checksum: 32 bytes.
  return (await fs.stat(file)).size > 32 ? file : undefined
}

/** realm's scratch git directory over the user's work tree: the environment for git to run there. */
async function scratchRepository(root: string, scratch: string, commit: string, excludes: string): Promise<Record<string, string>> {
  const { gitDir, commonDir } = await gitDirs(root)
  const repo = path.join(scratch, 'repo')
  await fs.mkdir(path.join(repo, 'objects', 'info'), { recursive: true })
  await fs.mkdir(path.join(repo, 'info'), { recursive: true })
  await fs.mkdir(path.join(repo, 'refs'), { recursive: true })
  await fs.writeFile(path.join(repo, 'HEAD'), `${commit}\n`)
  await fs.writeFile(
    path.join(repo, 'config'),
    '[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfilemode = true\n\tsymlinks = true\n',
  )
  await fs.writeFile(path.join(repo, 'info', 'attributes'), NEUTRAL_ATTRIBUTES)
  const projectExcludes = await fs.readFile(path.join(commonDir, 'info', 'exclude'), 'utf8').catch(() => '')
  await fs.writeFile(path.join(repo, 'info', 'exclude'), `${projectExcludes}\n${excludes}`)
  await fs.writeFile(path.join(repo, 'objects', 'info', 'alternates'), `${path.join(commonDir, 'objects')}\n`)
  const env = { GIT_DIR: repo, GIT_WORK_TREE: root, GIT_INDEX_FILE: path.join(scratch, 'index') }
  // The user's index (its stat data spares hashing every unchanged file), copied with its times: git's check
  // for racily clean entries reads them. Without one (or one this git cannot read), the commit's tree.
  try {
    await fs.copyFile(path.join(gitDir, 'index'), env.GIT_INDEX_FILE)
    const stat = await fs.stat(path.join(gitDir, 'index'))
    await fs.utimes(env.GIT_INDEX_FILE, stat.atime, stat.mtime)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    await git(root, ['read-tree', commit], { env })
  }
  return env
}

/** `git add -A` on the scratch index; an index this git cannot read (a split index, say) is started afresh. */
async function stageAll(root: string, env: Record<string, string>, commit: string): Promise<void> {
  const added = await git(root, ['add', '-A', '--ignore-errors'], { env, reject: false })
  if (added.exitCode === 0) return
  await fs.rm(env.GIT_INDEX_FILE, { force: true })
  await git(root, ['read-tree', commit], { env })
  await git(root, ['add', '-A', '--ignore-errors'], { env, reject: false })
}

export interface WorkingTree {
  /** the patch from the commit to the user's working tree (uncommitted and untracked work), or undefined */
  baseline?: string
  /** the paths git ignores (directories end in /), relative to the root */
  ignored: string[]
}

/**
 * The user's working tree relative to `commit`, as a new session's baseline in `scratch`: what the container's
 * prepare.sh computes from the project when it can see it. `hidden` files (see run/hidden.ts) keep their
 * committed version, and untracked ones are left out. With `withIgnored`, the ignored paths too.
 */
export async function workingTree(
  root: string,
  commit: string,
  options: { excludes: string; hidden: readonly string[]; withIgnored: boolean; baseline: boolean },
  scratch: string,
): Promise<WorkingTree> {
  const env = await scratchRepository(root, scratch, commit, options.excludes)
  const literal = { ...env, GIT_LITERAL_PATHSPECS: '1' }
  let baseline: string | undefined
  if (options.baseline) {
    await stageAll(root, env, commit)
    if (options.hidden.length) {
      // As the container's keep_committed: the hidden paths as in the commit, or absent.
      await git(root, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', ...options.hidden], { env: literal })
      const committed = String(
        (await git(root, ['ls-tree', '-r', '-z', '--full-tree', commit, '--', ...options.hidden], { env: literal })).stdout,
      )
      if (committed) await git(root, ['update-index', '-z', '--index-info'], { env, input: committed })
    }
    const tree = String((await git(root, ['write-tree'], { env })).stdout)
    const file = path.join(scratch, 'baseline.patch')
    await git(root, ['diff-tree', '-r', ...PATCH_OPTIONS, `--output=${file}`, `${commit}^{tree}`, tree], { env })
    baseline = (await fs.stat(file)).size > 0 ? file : undefined
  }
  const ignored = options.withIgnored
    ? nulPaths(String((await git(root, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'], { env })).stdout))
    : []
  return { baseline, ignored }
}
