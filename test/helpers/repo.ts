// Real git repositories for tests, with everything that could vary between machines pinned.
import fs from 'node:fs/promises'
import path from 'node:path'

import { execa } from 'execa'

import { inTempDir } from './temp.js'

/** Environment for git run by tests: no user or system configuration, a fixed identity. */
export const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.com',
}

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await execa('git', args, { cwd, env: GIT_ENV })
  return result.stdout
}

/** Writes files (relative path → content); a Buffer is written as is. */
export async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel)
    await fs.mkdir(path.dirname(full), { recursive: true })
    await fs.writeFile(full, content)
  }
}

/**
 * A file's new state: content (a Buffer is written as is), `null` to delete it, `{ link }` for a symlink,
 * `{ mode }` to chmod it (after writing `data`, when given), `{ from }` to rename another file to it.
 */
export type FileChange = string | Buffer | null | { link: string } | { mode: number; data?: string | Buffer } | { from: string }

/** Changes files in place, in the order given. */
export async function changeFiles(root: string, changes: Record<string, FileChange>): Promise<void> {
  for (const [rel, change] of Object.entries(changes)) {
    const full = path.join(root, rel)
    if (change === null) await fs.rm(full, { recursive: true })
    else if (typeof change === 'string' || Buffer.isBuffer(change)) await writeFiles(root, { [rel]: change })
    else if ('mode' in change) {
      if (change.data !== undefined) await writeFiles(root, { [rel]: change.data })
      await fs.chmod(full, change.mode)
    } else {
      await fs.mkdir(path.dirname(full), { recursive: true })
      if ('link' in change) await fs.symlink(change.link, full)
      else await fs.rename(path.join(root, change.from), full)
    }
  }
}

/** A repository on branch `main` with one commit holding `files` (see changeFiles for what a file can be). */
export async function makeRepo(root: string, files: Record<string, FileChange> = { 'README.md': '# project\n' }): Promise<string> {
  await fs.mkdir(root, { recursive: true })
  await git(root, 'init', '-q', '-b', 'main')
  await git(root, 'config', 'user.name', 'Test User')
  await git(root, 'config', 'user.email', 'test@example.com')
  await git(root, 'config', 'commit.gpgSign', 'false')
  await git(root, 'config', 'gc.auto', '0')
  await changeFiles(root, files)
  await git(root, 'add', '-A')
  await git(root, 'commit', '-q', '-m', 'initial')
  return root
}

/** A bare repository at `bare`, set as `origin` of `root`, with main pushed to it. */
export async function addOrigin(root: string, bare: string): Promise<void> {
  await execa('git', ['init', '-q', '--bare', '-b', 'main', bare], { env: GIT_ENV })
  await git(root, 'remote', 'add', 'origin', bare)
  await git(root, 'push', '-q', 'origin', 'main')
}

/**
 * Everything about a working tree that a patch must reproduce: each path's type, mode and content (symlinks
 * by target). `.git` is left out.
 */
export async function treeSnapshot(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {}
  async function walk(dir: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (entry.name === '.git' && dir === root) continue
      const full = path.join(dir, entry.name)
      const rel = path.relative(root, full)
      if (entry.isSymbolicLink()) result[rel] = `link:${await fs.readlink(full)}`
      else if (entry.isDirectory()) await walk(full)
      else {
        result[rel] = fileEntry(await fs.readFile(full), Boolean((await fs.stat(full)).mode & 0o100))
      }
    }
  }
  await walk(root)
  return result
}

/** Every file in the repository's object store: what a command that only reads must leave as it was. */
export async function objectFiles(root: string): Promise<string[]> {
  return (await fs.readdir(path.join(root, '.git', 'objects'), { recursive: true })).sort()
}

/** A regular file as treeSnapshot describes it. */
export function fileEntry(content: string | Buffer, executable = false): string {
  return `${executable ? 'x' : '-'}:${Buffer.from(content).toString('base64')}`
}

/** The host-visible state of a repository that realm must never change (outside apply and push). */
export async function repoState(root: string): Promise<Record<string, unknown>> {
  return {
    tree: await treeSnapshot(root),
    status: await git(root, 'status', '--porcelain=v1', '--untracked-files=all', '--ignored'),
    head: await git(root, 'rev-parse', 'HEAD'),
    symbolicHead: await git(root, 'symbolic-ref', '-q', 'HEAD').catch(() => 'detached'),
    branches: await git(root, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'),
    worktrees: await git(root, 'worktree', 'list', '--porcelain'),
    index: await git(root, 'ls-files', '--stage'),
  }
}

/** Host state that push must not change (repoState plus every ref outside refs/remotes/); remote-tracking refs may. */
export async function hostState(root: string): Promise<Record<string, unknown>> {
  const { branches, ...rest } = await repoState(root)
  const refs = (await git(root, 'for-each-ref', '--format=%(refname) %(objectname)'))
    .split('\n')
    .filter((r) => !r.startsWith('refs/remotes/'))
  return { ...rest, branches, refsOutsideRemotes: refs }
}

/** The commit `branch` points at in `repo` (a bare repository, say), '' when there is no such branch. */
export async function remoteTip(repo: string, branch: string): Promise<string> {
  return (await git(repo, 'for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`)).trim()
}

/** The tree at `branch` of a bare repository, checked out fresh (in `scratch`, or a temp dir removed afterwards). */
export async function pushedTree(bare: string, branch: string, scratch?: string): Promise<Record<string, string>> {
  const checkout = async (dir: string) => {
    await git(path.dirname(dir), 'clone', '-q', '--branch', branch, bare, dir)
    return treeSnapshot(dir)
  }
  return scratch ? checkout(scratch) : inTempDir((dir) => checkout(path.join(dir, 'clone')))
}

/**
 * Someone else's work: a commit of `files` on `branch` (made from the default branch when the remote has no
 * such branch yet), pushed to `bare` from a clone of their own. Returns the commit.
 */
export async function pushElsewhere(bare: string, branch: string, files: Record<string, FileChange>, message: string): Promise<string> {
  return inTempDir(async (dir) => {
    const clone = path.join(dir, 'clone')
    await git(dir, 'clone', '-q', bare, clone)
    const existing = await git(clone, 'rev-parse', '-q', '--verify', `refs/remotes/origin/${branch}`).catch(() => '')
    await git(clone, 'checkout', '-q', '-B', branch, ...(existing ? [existing] : []))
    await changeFiles(clone, files)
    await git(clone, 'add', '-A')
    await git(clone, 'commit', '-q', '-m', message)
    await git(clone, 'push', '-q', 'origin', branch)
    return git(clone, 'rev-parse', 'HEAD')
  })
}
