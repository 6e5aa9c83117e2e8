// A note for the next command on the session, left when the user could not be told something: after the
// terminal closed mid-run, the run's summary. The next command that opens the session shows it; a command that
// holds the lock then removes it, so it is shown once by those (read-only commands show it without removing).
import path from 'node:path'

import { readTextOrUndefined } from '../common/files.js'
import { acquireLock } from './lock.js'
import { type Session, updateSession } from './store.js'

const NOTICE = 'notice'

/** Leaves `lines` for the next command, under the session's lock (taken here: the run has released it). */
export async function leaveNotice(session: Session, lines: readonly string[]): Promise<void> {
  const lock = await acquireLock(session.dir, session.name, 'note')
  try {
    const earlier = readNotice(session)
    await updateSession(session, { [NOTICE]: { data: `${[...(earlier ?? []), ...lines].join('\n')}\n` } })
  } finally {
    await lock.release()
  }
}

/** The first line of the note a run leaves when its terminal closed. */
export function hangupHeader(name: string, now = new Date()): string {
  return `realm: the terminal of session '${name}' closed while its agent ran (${now.toISOString()}); realm stopped the agent and saved its work. What it would have said:`
}

/** The note's lines, if there is one. Read-only. */
export function readNotice(session: Pick<Session, 'dir'>): string[] | undefined {
  const text = readTextOrUndefined(path.join(session.dir, NOTICE))
  return text?.trimEnd().split('\n')
}

/** Removes the note once shown; the caller holds the session's lock. */
export async function clearNotice(session: Session): Promise<void> {
  await updateSession(session, { [NOTICE]: { remove: true } })
}
