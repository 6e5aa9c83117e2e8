import kleur from 'kleur'

import { say } from '../cli/output.js'
import { UserError } from '../common/errors.js'
import { parseRunNumber, planRestore, planUndo } from '../session/history-plan.js'
import { RunDoesNotApply } from '../session/rebuild.js'
import { lockedHistory } from '../session/run-history.js'
import { changeHistory } from '../session/undo.js'
import { openSession } from './steps/open-session.js'

export interface UndoOptions {
  restore?: string | number
}

function filesList(files: string[]): string {
  if (files.length === 0) return ''
  return ` (${files.length > 5 ? `${files.slice(0, 5).join(', ')} and ${files.length - 5} more` : files.join(', ')})`
}

export async function undoCommand(name: string, run: string | undefined, options: UndoOptions): Promise<number> {
  const restore = parseRunNumber(options.restore, '--restore')
  const target = parseRunNumber(run, 'the run to undo')
  if (restore !== undefined && target !== undefined) throw new UserError(`give either a run to undo or --restore <run>, not both`)
  const { session, lock } = await openSession(name, 'undo')
  try {
    const found = await lockedHistory(session)
    const plan = restore === undefined ? planUndo(name, found.history, target) : planRestore(name, found.history, restore)
    try {
      await changeHistory(session, found, plan)
    } catch (error) {
      if (!(error instanceof RunDoesNotApply)) throw error
      const why = restore === undefined ? `without run ${plan.run}` : `with run ${plan.run} back`
      throw new UserError(
        `run ${error.run} of '${name}' no longer applies ${why}${filesList(error.files)}: ${error.message} — nothing was changed; undo run ${error.run} first, or keep run ${plan.run}`,
      )
    }
    const later = plan.kept.filter((r) => r.number > plan.run).map((r) => r.number)
    const replayed = later.length ? `; run${later.length === 1 ? '' : 's'} ${later.join(', ')} re-applied on top` : ''
    if (restore === undefined) {
      say(
        kleur.green(`realm: undid run ${plan.run} of '${name}'${replayed} — bring it back with 'realm undo ${name} --restore ${plan.run}'`),
      )
    } else say(kleur.green(`realm: restored run ${plan.run} of '${name}'${replayed}`))
  } finally {
    await lock.release()
  }
  return 0
}
