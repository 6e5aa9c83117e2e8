// Sessions with a history, made without Docker: each run is played in a workbench and saved by realm's own save
// (lib/run/save.ts) from an output directory laid out as the entrypoint leaves it.
import fs from 'node:fs/promises'
import path from 'node:path'

import { execa } from 'execa'

import { saveRun } from '../../lib/run/save.ts'
import { loadSession, type Session } from '../../lib/session/store.ts'
import { type FileChange, writeFiles } from './repo.js'
import { REALM_BIN } from './realm.js'
import { makeSession, type Workbench, workbench } from './workbench.js'

export interface HistorySession {
  session: Session
  bench: Workbench
  /** the tree after each run (index 0: the baseline), as the workbench's git made it */
  trees: string[]
  /** each run's patch, as git made it on the workbench */
  patches: string[]
}

/** Saves one run whose patch is `patch` into the session, as realm saves a finished run. */
async function saveOne(session: Session, root: string, mode: 'new' | 'resume', files: Record<string, string>, now: Date) {
  const out = path.join(session.dir, 'run')
  await fs.rm(out, { recursive: true, force: true })
  await writeFiles(out, { ready: '', exit_code: '0', ...files })
  const result = await saveRun(session, out, mode, root, now)
  if (result.status !== 'saved') throw new Error(`the run was not saved: ${result.status} ${result.problem ?? ''}`)
  await fs.rm(out, { recursive: true, force: true })
}

/** A session of `root` whose runs made `runs`, one after the other, each saved by realm. */
export async function historySession(name: string, root: string, benchDir: string, runs: Array<Record<string, FileChange>>) {
  const bench = await workbench(root, benchDir)
  let session = await makeSession(name, root)
  const trees = [bench.start]
  const patches: string[] = []
  for (const [i, run] of runs.entries()) {
    await bench.change(run)
    trees.push(await bench.snapshot())
    patches.push(await bench.diff(trees[i], trees[i + 1]))
    const files: Record<string, string> = i === 0 ? { 'baseline.patch': '', 'changes.patch': patches[i] } : { 'changes.patch': patches[i] }
    await saveOne(session, root, i === 0 ? 'new' : 'resume', files, new Date(Date.UTC(2026, 0, 1, 10, i)))
    session = await loadSession(name)
  }
  return { session, bench, trees, patches } satisfies HistorySession
}

/** Runs bin/realm (no Docker needed for the commands of a session's history), in this process's REALM_HOME. */
export async function realmCli(args: string[], cwd: string) {
  const result = await execa(REALM_BIN, args, {
    cwd,
    reject: false,
    stripFinalNewline: false,
    input: '',
    env: { NO_COLOR: '1' },
    extendEnv: true,
  })
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
}

/** The session's own files (not its directories) with their bytes, by name: what "nothing changed" compares. */
export async function sessionFileBytes(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  for (const entry of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile() && entry.name !== 'checksums.verified.json')
      files[entry.name] = await fs.readFile(path.join(dir, entry.name), 'latin1')
  }
  return files
}
