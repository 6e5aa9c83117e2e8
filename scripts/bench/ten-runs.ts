// The big patch's 10,000 files made over ten runs (100 modified and 900 added files each), as a commit per run for
// git's side and as a realm session whose ten runs realm's own save stored, one resume after the other (no Docker:
// each run's output directory is laid out as the entrypoint leaves it).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import { saveRun } from '../../lib/run/save.js'
import { createSession, loadSession } from '../../lib/session/store.js'
import { BIG, bigBase, codeFile } from './big-patch-repo.js'
import { GIT_ENV, git, IMAGE } from './runner.js'

export const RUNS = 10
const PATCH_ARGS = ['--binary', '--full-index', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', '-M']

export interface TenRuns {
  /** a repository with the base commit and one commit per run, for git's side */
  gitside: string
  /** each run's commit, in order (commits[0] is the base) */
  commits: string[]
  /** each run's patch, as realm stores it */
  patches: string[]
}

/** Run `k`'s files (0-based): its share of the big patch's modified and added files. */
function writeRun(root: string, k: number): void {
  const modified = BIG.modified / RUNS
  const added = BIG.added / RUNS
  for (let i = k * modified; i < (k + 1) * modified; i++)
    fs.writeFileSync(path.join(root, 'src', `m${Math.floor(i / 100)}`, `file${i}.ts`), codeFile(i, 1))
  for (let i = k * added; i < (k + 1) * added; i++) {
    const rel = path.join('gen', `p${Math.floor(i / 1000)}`, `d${Math.floor(i / 100) % 10}`, `gen${i}.ts`)
    fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(root, rel), codeFile(BIG.modified + i))
  }
}

export function makeTenRuns(dir: string): TenRuns {
  const gitside = path.join(dir, 'gitside-10')
  const commits = [bigBase(gitside)]
  const patches: string[] = []
  for (let k = 0; k < RUNS; k++) {
    writeRun(gitside, k)
    git(gitside, 'add', '-A')
    git(gitside, 'commit', '-q', '-m', `run ${k + 1}`)
    commits.push(git(gitside, 'rev-parse', 'HEAD').trim())
    const patch = path.join(dir, `run-${k + 1}.patch`)
    const out = fs.openSync(patch, 'w')
    const r = spawnSync('git', ['diff-tree', '-r', ...PATCH_ARGS, commits[k], commits[k + 1]], {
      cwd: gitside,
      env: { ...process.env, ...GIT_ENV },
      stdio: ['ignore', out, 'pipe'],
    })
    fs.closeSync(out)
    if (r.status !== 0) throw new Error(`git diff-tree failed:\n${r.stderr}`)
    patches.push(patch)
  }
  return { gitside, commits, patches }
}

/** A project at the base commit with a bare origin, and a session of it whose ten runs realm saved one after the other. */
export async function tenRunSession(dir: string, home: string, name: string, runs: TenRuns): Promise<string> {
  const project = path.join(dir, 'project')
  if (bigBase(project) !== runs.commits[0]) throw new Error('the project is not at the base commit')
  const origin = path.join(dir, 'origin.git')
  git(dir, 'init', '-q', '--bare', origin)
  git(project, 'remote', 'add', 'origin', origin)
  git(project, 'push', '-q', 'origin', 'main')
  process.env.REALM_HOME = home // where the store writes
  await createSession(name, project, { version: 1, baseCommit: runs.commits[0], branch: 'main', subdir: '', image: IMAGE })
  for (const [k, patch] of runs.patches.entries()) {
    const session = await loadSession(name)
    const out = path.join(session.dir, 'run')
    fs.rmSync(out, { recursive: true, force: true })
    fs.mkdirSync(out)
    fs.writeFileSync(path.join(out, 'ready'), '')
    fs.writeFileSync(path.join(out, 'exit_code'), '0')
    if (k === 0) fs.writeFileSync(path.join(out, 'baseline.patch'), '')
    fs.copyFileSync(patch, path.join(out, 'changes.patch'))
    const saved = await saveRun(session, out, k === 0 ? 'new' : 'resume', project)
    if (saved.status !== 'saved') throw new Error(`run ${k + 1} was not saved: ${saved.status} ${saved.problem ?? ''}`)
    fs.rmSync(out, { recursive: true, force: true })
  }
  return project
}

/** A copy of session `from` as `to`, of another project (each push starts afresh, with no object of the patch). */
export function copySession(home: string, from: string, to: string, project: string): void {
  const source = path.join(home, 'sessions', from)
  const target = path.join(home, 'sessions', to)
  fs.mkdirSync(target)
  // Hard links: the same files, so realm's notes of the ones it verified still hold (as they would for the session itself).
  for (const entry of fs.readdirSync(source, { withFileTypes: true })) {
    if (entry.isFile() && entry.name !== 'project_dir' && entry.name !== 'lock')
      fs.linkSync(path.join(source, entry.name), path.join(target, entry.name))
  }
  fs.writeFileSync(path.join(target, 'project_dir'), `${project}\n`)
}
