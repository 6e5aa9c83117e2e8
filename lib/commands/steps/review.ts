// After a run that changed something, on a terminal: ask what to do with the work. Keeping it is the default,
// so Enter, Esc and Ctrl-C all leave the session exactly as the run saved it.
import kleur from 'kleur'

import { userMessage } from '../../cli/messages.js'
import { UserError } from '../../common/errors.js'
import { acquireLock } from '../../session/lock.js'
import { planUndo } from '../../session/history-plan.js'
import { lockedHistory } from '../../session/run-history.js'
import type { Session } from '../../session/store.js'
import { changeHistory } from '../../session/undo.js'

export type ReviewChoice = 'diff' | 'push' | 'apply' | 'keep' | 'discard'

const REVIEW_CHOICES: Array<{ title: string; value: ReviewChoice; description: string }> = [
  { title: 'Keep for later', value: 'keep', description: 'leave the work in the session (realm diff / apply / push / resume later)' },
  { title: 'View the diff', value: 'diff', description: "the session's whole change" },
  { title: 'Push', value: 'push', description: 'commit on the start commit and push to origin/<name>' },
  { title: 'Apply to the working tree', value: 'apply', description: '3-way, never over your uncommitted edits' },
  {
    title: 'Discard this run',
    value: 'discard',
    description: 'undo it (realm undo): earlier runs stay, and it is kept until remove (undo --restore brings it back)',
  },
]

/**
 * Undoes the latest run as `realm undo` does, under the session's lock (the run released it before the summary).
 * Returns its number.
 */
async function discardLastRun(session: Session): Promise<number> {
  const lock = await acquireLock(session.dir, session.name, 'undo')
  try {
    const found = await lockedHistory(session)
    const plan = planUndo(session.name, found.history)
    await changeHistory(session, found, plan)
    return plan.run
  } finally {
    await lock.release()
  }
}

/**
 * The interactive menu; `say` prints a line for the user. Each action takes the lock itself (push and apply
 * through their commands), so nothing here runs while another realm command holds the session.
 */
export async function reviewAfterRun(session: Session, say: (line: string) => void): Promise<void> {
  const { default: prompts } = await import('prompts')
  // The first run of a session cannot be undone alone (nothing would be left): `realm remove` is for that.
  const discardable = (await lockedHistory(session)).history.runs.filter((r) => !r.undone).length > 1
  for (;;) {
    const { choice } = (await prompts({
      type: 'select',
      name: 'choice',
      message: `What now with session '${session.name}'?`,
      choices: discardable ? REVIEW_CHOICES : REVIEW_CHOICES.filter((c) => c.value !== 'discard'),
      initial: 0,
    })) as { choice?: ReviewChoice }
    try {
      switch (choice ?? 'keep') {
        case 'keep':
          say(
            `realm: kept — later: realm diff ${session.name}, realm apply ${session.name}, realm push ${session.name}, realm resume ${session.name}`,
          )
          return
        case 'diff':
          await (await import('./show-diff.js')).showDiff(session.name, {})
          continue // back to the menu: seeing the diff is how the user decides
        case 'push':
          await (await import('./push-work.js')).pushWork(session.name, {})
          return
        case 'apply':
          await (await import('./apply-work.js')).applyWork(session.name, {})
          return
        case 'discard': {
          const run = await discardLastRun(session)
          say(
            `realm: discarded this run's changes (undid run ${run}); the session keeps what earlier runs did — 'realm undo ${session.name} --restore ${run}' brings it back`,
          )
          return
        }
      }
    } catch (error) {
      // A failed action (push rejected, apply blocked) is reported and the menu comes back.
      if (!(error instanceof UserError)) throw error
      say(`${kleur.red('realm:')} ${userMessage(error)}`)
    }
  }
}
