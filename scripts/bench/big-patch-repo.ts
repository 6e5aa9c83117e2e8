// The big patch's material: 10,000 files and about 50 MB (9,000 files added, 1,000 modified: what an agent that
// generates code leaves), as a commit in a plain repository for git's side and as a realm session for realm's.
// The session is made without Docker, through realm's store.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { createSession, updateSession } from '../../lib/session/store.js'
import { GIT_ENV, git, IMAGE } from './runner.js'

export const BIG = { modified: 1_000, added: 9_000, lines: 84 }
/** How realm stores patches (lib/git/exec.ts PATCH_OPTIONS), for the patch git cuts here. */
const PATCH_ARGS = ['--binary', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', '-M']

/** Lines that source files share, so that files compress and delta like code does; each line then gets its own tail. */
const CODE_LINES = Array.from({ length: 512 }, (_, i) => {
  const words = randomBytes(24).toString('base64').replace(/[+/=]/g, 'x')
  return `  const ${words.slice(0, 8)} = ${words.slice(8, 14)}(${words.slice(14, 24)}, ${i})`
})

/** File `i`'s text, generation `gen` (a modified file differs from generation 0 in every seventh line). */
function codeFile(i: number, gen = 0): string {
  let text = `// file ${i}\n`
  for (let n = 0; n < BIG.lines; n++) {
    const line = CODE_LINES[(i * 7919 + n * 104729) % CODE_LINES.length]
    text += `${line} // ${i}.${n}${gen && n % 7 === 3 ? ` changed ${gen}` : ''}\n`
  }
  return text
}

/** A repository with the files the agent will modify, committed with pinned dates: the same commit every time. */
function bigBase(root: string): string {
  fs.mkdirSync(root, { recursive: true })
  git(root, 'init', '-q', '-b', 'main')
  git(root, 'config', 'gc.auto', '0')
  git(root, 'config', 'user.name', GIT_ENV.GIT_AUTHOR_NAME)
  git(root, 'config', 'user.email', GIT_ENV.GIT_AUTHOR_EMAIL)
  for (let i = 0; i < BIG.modified; i++) {
    const rel = path.join('src', `m${Math.floor(i / 100)}`, `file${i}.ts`)
    if (i % 100 === 0) fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(root, rel), codeFile(i))
  }
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'base')
  return git(root, 'rev-parse', 'HEAD').trim()
}

export interface BigPatch {
  base: string
  /** a repository holding the agent's work as a commit, for git's side */
  gitside: string
  agent: string
  /** the patch from base to agent, as realm stores it */
  patch: string
  bytes: number
}

export function makeBigPatch(dir: string): BigPatch {
  const gitside = path.join(dir, 'gitside')
  const base = bigBase(gitside)
  for (let i = 0; i < BIG.modified; i++)
    fs.writeFileSync(path.join(gitside, 'src', `m${Math.floor(i / 100)}`, `file${i}.ts`), codeFile(i, 1))
  for (let i = 0; i < BIG.added; i++) {
    const rel = path.join('gen', `p${Math.floor(i / 1000)}`, `d${Math.floor(i / 100) % 10}`, `gen${i}.ts`)
    if (i % 100 === 0) fs.mkdirSync(path.join(gitside, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(gitside, rel), codeFile(BIG.modified + i))
  }
  // As a user who made this commit by hand would have it: loose objects, as `git commit` writes them.
  git(gitside, 'add', '-A')
  git(gitside, 'commit', '-q', '-m', 'agent')
  const agent = git(gitside, 'rev-parse', 'HEAD').trim()
  const patch = path.join(dir, 'big.patch')
  const out = fs.openSync(patch, 'w')
  const r = spawnSync('git', ['diff-tree', '-r', ...PATCH_ARGS, base, agent], {
    cwd: gitside,
    env: { ...process.env, ...GIT_ENV },
    stdio: ['ignore', out, 'pipe'],
  })
  fs.closeSync(out)
  if (r.status !== 0) throw new Error(`git diff-tree failed:\n${r.stderr}`)
  return { base, gitside, agent, patch, bytes: fs.statSync(patch).size }
}

/** A session of `project` at the big patch's base commit whose one run patch is `patch`, made through realm's store. */
export async function storeSession(home: string, name: string, project: string, base: string, patch: string): Promise<void> {
  process.env.REALM_HOME = home // where the store writes
  const session = await createSession(name, project, { version: 1, baseCommit: base, branch: 'main', subdir: '', image: IMAGE })
  await updateSession(session, { 'changes.patch': { copyFrom: patch } })
}

/** A project at the base commit with a bare origin, and a session of it whose one run patch is the big patch. */
export async function bigSession(dir: string, home: string, name: string, big: BigPatch): Promise<string> {
  const project = path.join(dir, 'project')
  if (bigBase(project) !== big.base) throw new Error('the project is not at the base commit')
  const origin = path.join(dir, 'origin.git')
  git(dir, 'init', '-q', '--bare', origin)
  git(project, 'remote', 'add', 'origin', origin)
  git(project, 'push', '-q', 'origin', 'main')
  await storeSession(home, name, project, big.base, big.patch)
  return project
}
