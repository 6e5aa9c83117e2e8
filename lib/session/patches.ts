// The session's change as one patch: from its baseline (where the agent started) to its latest state.
import fs from 'node:fs/promises'

import { diffTrees, sessionTrees, withScratch } from '../git/repo.js'
import { parsePatch, type FilePatch } from '../patch/parse.js'
import { patchPath, sessionPatches, type Session } from './store.js'

/** base.patch + changes.patch folded into one patch from the session's baseline. */
export async function combinedPatch(session: Session): Promise<string> {
  const [baseline, runs] = await Promise.all([patchPath(session, 'baseline.patch'), runPatches(session)])
  if (runs.length === 0) return ''
  if (runs.length === 1) return fs.readFile(runs[0], 'utf8')
  return withScratch(async (scratch) => {
    const trees = await sessionTrees(session.projectDir, scratch, session.meta.baseCommit, baseline, runs)
    return diffTrees(session.projectDir, trees.builder.env, trees.baseline, trees.final)
  })
}

/** base.patch and changes.patch, those that exist and are not empty. */
export async function runPatches(session: Session): Promise<string[]> {
  return (await sessionPatches(session)).filter((p) => !p.endsWith('baseline.patch'))
}

export async function lastRunPatch(session: Session): Promise<string> {
  const file = await patchPath(session, 'changes.patch')
  return file ? fs.readFile(file, 'utf8') : ''
}

export async function sessionFiles(session: Session): Promise<{ run: FilePatch[]; session: FilePatch[] }> {
  const [run, all] = await Promise.all([lastRunPatch(session), combinedPatch(session)])
  return { run: parsePatch(run), session: parsePatch(all) }
}
