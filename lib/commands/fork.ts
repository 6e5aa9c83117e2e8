import kleur from 'kleur'

import { say } from '../cli/output.js'
import { forkSession } from '../session/fork.js'
import { parseRunNumber } from '../session/history-plan.js'
import { lockedHistory } from '../session/run-history.js'
import { checkName } from '../session/store.js'
import { openSession } from './steps/open-session.js'

export async function forkCommand(name: string, newName: string, options: { at?: string | number }): Promise<number> {
  checkName(newName)
  const at = parseRunNumber(options.at, '--at')
  const { session, lock } = await openSession(name, 'fork')
  try {
    const found = await lockedHistory(session)
    const forked = await forkSession(session, found, newName, at)
    const where = forked.at ? `after run ${forked.at}` : 'before any run'
    say(kleur.green(`realm: forked '${name}' ${where} as '${newName}', with its runs so far and a copy of its conversation`))
    say(`realm: continue it with 'realm resume ${newName}'; 'realm log ${newName}' lists its runs`)
  } finally {
    await lock.release()
  }
  return 0
}
