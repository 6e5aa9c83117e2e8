// The only module that talks to git on the host. In-process reads (finding the repository, HEAD, branches,
// remotes) use isomorphic-git; the system git does what isomorphic-git cannot: apply binary patches to a
// private index, `apply --3way` on the working tree, and push over any transport the user has configured.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { execa, type Options } from 'execa'

import { UserError, errorCode } from './errors.js'
import { scratchDir } from './paths.js'
import { processAlive } from './process-alive.js'

async function iso() {
  return (await import('isomorphic-git')).default
}

export interface Project {
  root: string
  /** Where the user stood inside the repository, relative to its root ('' for the root). */
  subdir: string
}

export async function findProject(dir: string): Promise<Project> {
  let stat: fs.Stats
  try {
    stat = await fsp.stat(dir)
  } catch {
    throw new UserError(`project directory ${dir} does not exist`)
  }
  if (!stat.isDirectory()) throw new UserError(`${dir} is not a directory`)
  const real = await fsp.realpath(dir)
  let root: string
  try {
    root = await (await iso()).findRoot({ fs, filepath: real })
  } catch {
    throw new UserError(`${dir} is not inside a git repository — run 'git init' there first, or pass a project directory`)
  }
  if (!(await fsp.stat(path.join(root, '.git'))).isDirectory()) {
    throw new UserError(`${root} is a linked worktree or submodule checkout (.git is a file); run realm from the main checkout`)
  }
  return { root, subdir: path.relative(root, real) }
}

export interface Head {
  commit: string
  /** undefined when HEAD is detached */
  branch?: string
}

export async function readHead(root: string): Promise<Head> {
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

/** The system git with settings that could change a patch or run the user's code switched off. */
const HERMETIC = [
  '-c', 'core.hooksPath=/dev/null', // never run the repository's hooks
  '-c', 'core.autocrlf=false', // patches carry bytes exactly as the agent left them
  '-c', 'core.safecrlf=false',
  '-c', 'core.attributesFile=/dev/null', // no user-wide attributes (filters, diff drivers)
  '-c', 'core.quotePath=false',
  '-c', 'commit.gpgSign=false', // realm's commits must not wait on a signing agent
  '-c', 'apply.whitespace=nowarn', // a patch is applied as it is, trailing spaces included
  '-c', 'gc.auto=0', // never start a gc in the user's repository
]

/** Environment that hides the system and global git configuration; the repository's own stays visible. */
const ISOLATED_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, GIT_TERMINAL_PROMPT: '0' }

export async function git(root: string, args: string[], options: Options & { isolated?: boolean } = {}) {
  const { isolated = true, env, ...rest } = options
  return execa('git', [...HERMETIC, ...args], {
    cwd: root,
    env: { ...(isolated ? ISOLATED_ENV : {}), ...env },
    stripFinalNewline: true,
    ...rest,
  })
}

/** The user's identity from their own git configuration, for commits the agent and realm make. */
export async function userIdentity(root: string): Promise<{ name?: string; email?: string }> {
  const get = async (key: string) => {
    const result = await execa('git', ['config', '--get', key], { cwd: root, reject: false })
    return result.exitCode === 0 && result.stdout.trim() ? result.stdout.trim() : undefined
  }
  const [name, email] = await Promise.all([get('user.name'), get('user.email')])
  return { name, email }
}

/** The user's global ignore rules, which the container cannot see but which decide what "untracked" means. */
export async function globalExcludes(root: string): Promise<string> {
  const configured = await execa('git', ['config', '--path', '--get', 'core.excludesFile'], { cwd: root, reject: false })
  const xdg = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config')
  const file = configured.exitCode === 0 && configured.stdout.trim() ? configured.stdout.trim() : path.join(xdg, 'git', 'ignore')
  try {
    return await fsp.readFile(file, 'utf8')
  } catch {
    return ''
  }
}

/** Removes scratch directories of realm processes that were killed before they could clean up. */
async function pruneScratch(): Promise<void> {
  for (const name of await fsp.readdir(scratchDir()).catch(() => [] as string[])) {
    const pid = /^scratch-(\d+)-/.exec(name)?.[1] // tmp-promise names them <prefix>-<pid>-<random>
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) {
      await fsp.rm(path.join(scratchDir(), name), { recursive: true, force: true })
    }
  }
}

/** A scratch directory under $REALM_HOME/tmp, removed afterwards whatever happens. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const { dir } = await import('tmp-promise')
  await fsp.mkdir(scratchDir(), { recursive: true })
  await pruneScratch()
  const scratch = await dir({ tmpdir: scratchDir(), prefix: 'scratch', unsafeCleanup: true })
  try {
    return await fn(scratch.path)
  } finally {
    await scratch.cleanup()
  }
}

/** A patch that git cannot apply where it belongs: a session file truncated or edited by hand, usually. */
export class PatchDoesNotApply extends UserError {
  constructor(
    readonly patch: string,
    readonly detail: string,
  ) {
    super(`session file ${patch} does not apply (${detail}) — it was truncated or edited by hand; restore it or remove the session`)
  }
}

export interface TreeBuilder {
  /** Applies a patch to the private index; throws PatchDoesNotApply. */
  apply(patch: string): Promise<void>
  writeTree(): Promise<string>
  /** Environment for further git commands on the same private index and objects. */
  env: Record<string, string>
}

/**
 * A private index over the project's objects, starting at `commit`. With `objects: 'scratch'` every object
 * it writes stays in the scratch directory and the repository is only read; with 'repository' new objects go
 * into the repository (push needs them there, so that origin/<name> points at something).
 */
export async function treeBuilder(root: string, scratch: string, commit: string, objects: 'scratch' | 'repository'): Promise<TreeBuilder> {
  const env: Record<string, string> = { GIT_INDEX_FILE: path.join(scratch, 'index') }
  if (objects === 'scratch') {
    const objectDir = path.join(scratch, 'objects')
    await fsp.mkdir(objectDir, { recursive: true })
    env.GIT_OBJECT_DIRECTORY = objectDir
    env.GIT_ALTERNATE_OBJECT_DIRECTORIES = path.join(root, '.git', 'objects')
  }
  await git(root, ['read-tree', commit], { env })
  return {
    env,
    async apply(patch) {
      const result = await git(root, ['apply', '--cached', '--binary', patch], { env, reject: false })
      if (result.exitCode !== 0) throw new PatchDoesNotApply(patch, String(result.stderr).split('\n')[0] || `git apply exited ${result.exitCode}`)
    },
    async writeTree() {
      return String((await git(root, ['write-tree'], { env })).stdout)
    },
  }
}

/** Checks that `patches` apply in order on `commit`, without writing anything to the repository. */
export async function verifyPatches(root: string, commit: string, patches: string[]): Promise<void> {
  await withScratch(async (scratch) => {
    const builder = await treeBuilder(root, scratch, commit, 'scratch')
    for (const patch of patches) await builder.apply(patch)
  })
}

export async function commitExists(root: string, commit: string): Promise<boolean> {
  const result = await git(root, ['cat-file', '-e', `${commit}^{commit}`], { reject: false })
  return result.exitCode === 0
}

export function isMissingGit(error: unknown): boolean {
  return errorCode(error) === 'ENOENT'
}

/** Trees of a session: its baseline (base commit + baseline.patch) and its current state (+ every run). */
export interface SessionTrees {
  baseline: string
  final: string
}

/**
 * Applies the baseline patch and then `runs` on `commit` in a private index and returns both trees;
 * `objects` says where new objects go (see treeBuilder).
 */
export async function sessionTrees(root: string, scratch: string, commit: string, baseline: string | undefined, runs: string[], objects: 'scratch' | 'repository' = 'scratch'): Promise<SessionTrees & { builder: TreeBuilder }> {
  const builder = await treeBuilder(root, scratch, commit, objects)
  if (baseline) await builder.apply(baseline)
  const baselineTree = await builder.writeTree()
  for (const patch of runs) await builder.apply(patch)
  return { baseline: baselineTree, final: await builder.writeTree(), builder }
}

/** The patch between two trees, in the same hermetic form the container writes. */
export async function diffTrees(root: string, env: Record<string, string>, from: string, to: string): Promise<string> {
  const result = await git(root, ['diff-tree', '-r', '--binary', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv',
    '--src-prefix=a/', '--dst-prefix=b/', '-M', from, to], { env, stripFinalNewline: false, encoding: 'utf8' })
  return String(result.stdout)
}
