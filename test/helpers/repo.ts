// Real git repositories for tests, with everything that could vary between machines pinned.
import fs from 'node:fs/promises'
import path from 'node:path'

import { execa } from 'execa'

/** Environment for git run by tests: no user or system configuration, fixed identity and dates. */
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

/** A repository on branch `main` with one commit holding `files`. */
export async function makeRepo(root: string, files: Record<string, string | Buffer> = { 'README.md': '# project\n' }): Promise<string> {
  await fs.mkdir(root, { recursive: true })
  await git(root, 'init', '-q', '-b', 'main')
  await git(root, 'config', 'user.name', 'Test User')
  await git(root, 'config', 'user.email', 'test@example.com')
  await git(root, 'config', 'commit.gpgSign', 'false')
  await git(root, 'config', 'gc.auto', '0')
  await writeFiles(root, files)
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
        const stat = await fs.stat(full)
        const exec = stat.mode & 0o100 ? 'x' : '-'
        result[rel] = `${exec}:${(await fs.readFile(full)).toString('base64')}`
      }
    }
  }
  await walk(root)
  return result
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
