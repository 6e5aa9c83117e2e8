// Opening a session for a command that writes: take its lock, finish what a dead realm process left behind
// (a staged transaction, an interrupted run), and check its patches before anything builds on them.
import kleur from 'kleur'

import { say } from '../../cli/output.js'
import { UserError } from '../../common/errors.js'
import { runLeftBehind } from '../../run/host-run.js'
import { acquireLock, type Lock } from '../../session/lock.js'
import { clearNotice, readNotice } from '../../session/notice.js'
import { checkPatches, loadSession, removeSessionDir, type Session } from '../../session/store.js'
import { recoverTransaction } from '../../session/transaction.js'

/** Shows what an earlier command left for the user (see session/notice.ts), once: this command holds the lock. */
async function showNotice(session: Session): Promise<void> {
  const lines = readNotice(session)
  if (!lines) return
  for (const line of lines) say(line)
  await clearNotice(session)
}

export async function openSession(name: string, command: string): Promise<{ session: Session; lock: Lock }> {
  const found = await loadSession(name)
  const lock = await acquireLock(found.dir, name, command)
  try {
    // Only a lock holder may finish or drop a transaction; after that the files are read again.
    await recoverTransaction(found.dir)
    const session = await loadSession(name)
    // recover.ts (docker's code with it) is loaded only when a run left something behind.
    const recovered = (await runLeftBehind(session))
      ? await (await import('../../run/recover.js')).recoverRun(session, session.projectDir)
      : undefined
    if (recovered && recovered.mode === 'new' && recovered.status === 'not-started') {
      await removeSessionDir(session)
      throw new UserError(
        `session '${name}' was still being created when its realm process died; it has been removed — start it again with 'realm new'`,
      )
    }
    if (recovered?.status === 'saved' || recovered?.status === 'recovered') {
      const what = recovered.status === 'saved' ? 'its final capture' : 'its last snapshot'
      say(kleur.yellow(`realm: recovered the interrupted run of '${name}' (${what})`))
    } else if (recovered?.status === 'unverified') {
      say(kleur.red(`realm: the interrupted run of '${name}' left a patch that does not apply; it is kept at ${recovered.keptAt}`))
    }
    await checkPatches(session)
    await showNotice(session)
    return { session, lock }
  } catch (error) {
    await lock.release()
    throw error
  }
}
