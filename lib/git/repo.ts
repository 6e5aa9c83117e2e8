// The only module that talks to git on the host. Finding the repository and reading HEAD are plain file reads
// in the common case; refs beyond that are resolved in-process by isomorphic-git; the system git does what
// isomorphic-git cannot: apply binary patches to a private index, `apply --3way` on the working tree, scan the
// working tree against an index, and push over any transport the user has configured.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { execa, type Options } from 'execa'

import { UserError, errorCode } from '../common/errors.js'
import { scratchDir } from '../common/paths.js'
import { processAlive } from '../common/process.js'

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
  // The nearest directory upwards with a .git entry, as git finds it.
  let root = real
  while (!fs.existsSync(path.join(root, '.git'))) {
    const parent = path.dirname(root)
    if (parent === root)
      throw new UserError(`${dir} is not inside a git repository — run 'git init' there first, or pass a project directory`)
    root = parent
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

/** The system git with settings that could change a patch or run the user's code switched off. */
const HERMETIC = [
  '-c',
  'core.hooksPath=/dev/null', // never run the repository's hooks
  '-c',
  'core.autocrlf=false', // patches carry bytes exactly as the agent left them
  '-c',
  'core.safecrlf=false',
  '-c',
  'core.attributesFile=/dev/null', // no user-wide attributes (filters, diff drivers)
  '-c',
  'core.quotePath=false',
  '-c',
  'commit.gpgSign=false', // realm's commits must not wait on a signing agent
  '-c',
  'apply.whitespace=nowarn', // a patch is applied as it is, trailing spaces included
  '-c',
  'gc.auto=0', // never start a gc in the user's repository
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

/** What the container needs from the user's git configuration. */
export interface GitSettings {
  /** for commits the agent and realm make */
  identity: { name?: string; email?: string }
  /** the global excludes file's content: the container cannot see it, but it decides what "untracked" means */
  excludes: string
}

/** Reads `git config -z --get-regexp` output ("key\nvalue\0" records; the last value of a key wins). */
export function parseConfigList(text: string): Map<string, string> {
  const values = new Map<string, string>()
  for (const record of text.split('\0')) {
    const newline = record.indexOf('\n')
    if (newline > 0) values.set(record.slice(0, newline).toLowerCase(), record.slice(newline + 1))
  }
  return values
}

export async function readGitSettings(root: string, home = os.homedir(), env = process.env): Promise<GitSettings> {
  // One git process for all three keys: every process start is time the user waits before the agent starts.
  const result = await execa('git', ['config', '-z', '--get-regexp', '^(user\\.name|user\\.email|core\\.excludesfile)$'], {
    cwd: root,
    reject: false,
    stripFinalNewline: false,
  })
  const config = parseConfigList(result.exitCode === 0 ? result.stdout : '')
  const name = config.get('user.name')?.trim() || undefined
  const email = config.get('user.email')?.trim() || undefined
  const configured = config.get('core.excludesfile')?.trim()
  // git expands a leading ~/ in path settings; its own default is $XDG_CONFIG_HOME/git/ignore.
  const file = configured
    ? configured.replace(/^~(?=\/|$)/, home)
    : path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'git', 'ignore')
  const excludes = await fsp.readFile(file, 'utf8').catch(() => '')
  return { identity: { name, email }, excludes }
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
  // The CommonJS module itself is the default export, in the bundle and under Node alike.
  const { dir } = (await import('tmp-promise')).default
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
      if (result.exitCode !== 0)
        throw new PatchDoesNotApply(patch, String(result.stderr).split('\n')[0] || `git apply exited ${result.exitCode}`)
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
export async function sessionTrees(
  root: string,
  scratch: string,
  commit: string,
  baseline: string | undefined,
  runs: string[],
  objects: 'scratch' | 'repository' = 'scratch',
): Promise<SessionTrees & { builder: TreeBuilder }> {
  const builder = await treeBuilder(root, scratch, commit, objects)
  if (baseline) await builder.apply(baseline)
  const baselineTree = await builder.writeTree()
  for (const patch of runs) await builder.apply(patch)
  return { baseline: baselineTree, final: await builder.writeTree(), builder }
}

/** The patch between two trees, in the same hermetic form the container writes. */
export async function diffTrees(root: string, env: Record<string, string>, from: string, to: string): Promise<string> {
  const result = await git(
    root,
    [
      'diff-tree',
      '-r',
      '--binary',
      '--full-index',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '--src-prefix=a/',
      '--dst-prefix=b/',
      '-M',
      from,
      to,
    ],
    { env, stripFinalNewline: false, encoding: 'utf8' },
  )
  return String(result.stdout)
}
