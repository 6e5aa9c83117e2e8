// `undo` and `undo --restore` for a lock holder: the planned history (history-plan.ts) made real — the kept runs
// re-applied in order and verified (rebuild.ts), then every file of the new state committed together.
import path from 'node:path'

import { nonEmptyFile } from '../common/files.js'
import { withScratch } from '../git/scratch.js'
import type { HistoryPlan } from './history-plan.js'
import type { RunRecord } from './history.js'
import { rebuildUpdates } from './rebuild.js'
import { historyUpdates, type SessionHistory } from './run-history.js'
import { patchPath, type Session, updateSession } from './store.js'

/** Each run's patch in the session as it is now, by run number (undefined: the run changed nothing). */
export async function runPatchFiles(session: Session, found: SessionHistory): Promise<Map<number, string | undefined>> {
  const files = new Map<number, string | undefined>()
  for (const record of found.history.runs) files.set(record.number, await nonEmptyFile(path.join(session.dir, found.patchFile(record))))
  return files
}

/** Gives the session the state `plan` describes, or changes nothing (RunDoesNotApply names the run that stops it). */
export async function changeHistory(session: Session, found: SessionHistory, plan: HistoryPlan): Promise<void> {
  const [baseline, files] = await Promise.all([patchPath(session, 'baseline.patch'), runPatchFiles(session, found)])
  await withScratch(async (scratch) => {
    const updates = await rebuildUpdates(
      {
        root: session.projectDir,
        baseCommit: session.meta.baseCommit,
        baseline,
        kept: plan.kept,
        patchOf: (record: RunRecord) => files.get(record.number),
        from: plan.run,
      },
      scratch,
    )
    Object.assign(updates, await historyUpdates(session, found, plan.history, updates))
    await updateSession(session, updates)
  })
}
