// The session's history on disk (see history.ts): read by lock holders, which may then write it, and by readers
// that hold no lock (`log`, `diff --run`), which read it as one committed state.
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from '../common/errors.js'
import { nonEmptyFile } from '../common/files.js'
import { SessionDamaged } from './errors.js'
import {
  type History,
  historyText,
  legacyHistory,
  legacyPatchFile,
  parseHistory,
  type RunRecord,
  RUNS_FILE,
  runPatchName,
  totalsOf,
} from './history.js'
import type { PatchSummary } from '../patch/summarize.js'
import type { Session } from './store.js'
import { readConsistent } from './transaction.js'
import type { FileUpdate } from './transaction.js'

/** A session's history, and where each run's patch is now. */
export interface SessionHistory {
  history: History
  /** runs.json exists; false for a session an older realm made (its history is what legacyHistory can tell) */
  stored: boolean
  /** the file holding run `record`'s patch, relative to the session directory */
  patchFile(record: RunRecord): string
}

function damaged(session: Session): SessionDamaged {
  return new SessionDamaged(
    session.name,
    `session file ${path.join(session.dir, RUNS_FILE)} is damaged — it was truncated or edited by hand`,
    'restore-or-remove',
  )
}

/**
 * The history in `text` (runs.json's, or undefined when there is none). Without one, the session is an older
 * realm's: `summarize` gives the totals of its base.patch and changes.patch (undefined when one is empty).
 */
async function historyOf(
  session: Session,
  text: string | undefined,
  summarize: (file: string) => Promise<PatchSummary | undefined>,
): Promise<SessionHistory> {
  if (text !== undefined) {
    const history = parseHistory(text)
    if (!history) throw damaged(session)
    return { history, stored: true, patchFile: (r) => runPatchName(r.number) }
  }
  const [earlier, latest] = await Promise.all([summarize('base.patch'), summarize('changes.patch')])
  const history = legacyHistory({
    createdAt: session.createdAt,
    resumedAt: session.resumedAt,
    earlier: earlier?.files.length ? totalsOf(earlier) : undefined,
    latest: latest && totalsOf(latest),
  })
  return { history, stored: false, patchFile: legacyPatchFile }
}

/** The session's history, for a lock holder (nothing replaces its files meanwhile). */
export async function lockedHistory(session: Session): Promise<SessionHistory> {
  const text = await fs.readFile(path.join(session.dir, RUNS_FILE), 'utf8').catch((error) => {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  })
  const { summarizeSessionPatch } = await import('./patches.js')
  return historyOf(session, text, async (file) => {
    const full = await nonEmptyFile(path.join(session.dir, file))
    return full ? summarizeSessionPatch(session, full) : undefined
  })
}

/** The session's history as readers without a lock see it: runs.json as committed (see readConsistent). */
export async function readHistory(session: Session): Promise<SessionHistory> {
  const text = await readConsistent(session.dir, [RUNS_FILE], async (paths) => {
    const file = paths[RUNS_FILE]
    return file === undefined ? undefined : fs.readFile(file, 'utf8')
  })
  if (text !== undefined) return historyOf(session, text, async () => undefined)
  // An older realm's session: the totals come from its patches (their stored summaries, where they match).
  const { PatchReader } = await import('./patches.js')
  const { openSingleRun } = await import('./snapshot.js')
  return historyOf(session, undefined, async (file) => {
    const single = await openSingleRun(session, [file])
    if (typeof single !== 'object') return undefined
    const reader = new PatchReader(single.handle)
    try {
      return single.stored ?? (await reader.summary())
    } finally {
      await reader.close()
    }
  })
}

/**
 * The updates that write `history` as runs.json. A session an older realm made gets its runs' patches as run
 * patches too (`regenerated` names those already written anew, which are left to the caller).
 */
export async function historyUpdates(
  session: Session,
  found: SessionHistory,
  history: History,
  regenerated: Record<string, FileUpdate> = {},
): Promise<Record<string, FileUpdate>> {
  const updates: Record<string, FileUpdate> = { [RUNS_FILE]: { data: historyText(history) } }
  if (found.stored) return updates
  for (const record of found.history.runs) {
    const name = runPatchName(record.number)
    const from = await nonEmptyFile(path.join(session.dir, found.patchFile(record)))
    if (!(name in regenerated) && from) updates[name] = { copyFrom: from }
  }
  return updates
}
