// Questions about the user's repository: where it is, what HEAD is, whether a commit exists. Finding the
// repository and reading HEAD are plain file reads in the common case; refs beyond that are resolved in-process
// by isomorphic-git. (lib/git/ is the only place that talks to git; the system git does what isomorphic-git
// cannot — see trees.ts, worktree.ts, push.ts.)
import fs from 'node:fs'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { git } from './exec.js'

async function iso() {
  return (await import('isomorphic-git')).default
}

export interface Project {
  root: string
  /** Where the user stood inside the repository, relative to its root ('' for the root). */
  subdir: string
}

/** Plain file system questions, asked synchronously: `realm new` asks them on the way to its container. */
export async function findProject(dir: string): Promise<Project> {
  let stat: fs.Stats
  try {
    stat = fs.statSync(dir)
  } catch {
    throw new UserError(`project directory ${dir} does not exist`)
  }
  if (!stat.isDirectory()) throw new UserError(`${dir} is not a directory`)
  const real = fs.realpathSync.native(dir)
  // The nearest directory upwards with a .git entry, as git finds it.
  let root = real
  while (!fs.existsSync(path.join(root, '.git'))) {
    const parent = path.dirname(root)
    if (parent === root)
      throw new UserError(`${dir} is not inside a git repository — run 'git init' there first, or pass a project directory`)
    root = parent
  }
  if (!fs.statSync(path.join(root, '.git')).isDirectory()) {
    throw new UserError(`${root} is a linked worktree or submodule checkout (.git is a file); run realm from the main checkout`)
  }
  return { root, subdir: path.relative(root, real) }
}

export interface Head {
  commit: string
  /** undefined when HEAD is detached */
  branch?: string
}

const OBJECT_ID = /^[0-9a-f]{40}$/

/**
 * HEAD read straight from the files in the common case (a branch, its ref loose or packed, or a detached
 * commit): loading isomorphic-git costs more than the run's other checks together. Undefined otherwise.
 */
function readHeadFiles(root: string): Head | undefined {
  try {
    const head = fs.readFileSync(path.join(root, '.git', 'HEAD'), 'utf8').trim()
    if (OBJECT_ID.test(head)) return { commit: head }
    const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1]
    if (!ref) return undefined
    const branch = ref.slice('refs/heads/'.length)
    let commit: string | undefined
    try {
      commit = fs.readFileSync(path.join(root, '.git', ref), 'utf8').trim()
    } catch {
      // not a loose ref: packed ("<id> <ref>" lines) after a gc or a clone
      const line = fs
        .readFileSync(path.join(root, '.git', 'packed-refs'), 'utf8')
        .split('\n')
        .find((l) => l.endsWith(` ${ref}`))
      commit = line?.slice(0, line.indexOf(' '))
    }
    return commit && OBJECT_ID.test(commit) ? { commit, branch } : undefined
  } catch {
    return undefined
  }
}

export async function readHead(root: string): Promise<Head> {
  const quick = readHeadFiles(root)
  if (quick) return quick
  // Packed refs, unborn branches and the rest: isomorphic-git knows the formats.
  const git = await iso()
  let commit: string
  try {
    commit = await git.resolveRef({ fs, dir: root, ref: 'HEAD' })
  } catch {
    throw new UserError(`${root} has no commits yet — make a first commit, then start the session`)
  }
  const branch = (await git.currentBranch({ fs, dir: root, fullname: false })) || undefined
  return { commit, branch }
}

/** The commit a ref points at (peeled through tags), read in-process; undefined when there is no such ref. */
export async function resolveCommit(root: string, ref: string): Promise<string | undefined> {
  const git = await iso()
  try {
    const oid = await git.resolveRef({ fs, dir: root, ref })
    const { oid: commit } = await git.readCommit({ fs, dir: root, oid })
    return commit
  } catch {
    return undefined
  }
}

export async function commitExists(root: string, commit: string): Promise<boolean> {
  const result = await git(root, ['cat-file', '-e', `${commit}^{commit}`], { reject: false })
  return result.exitCode === 0
}
