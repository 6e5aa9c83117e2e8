import { UserError } from '../common/errors.js'
import { pathExists } from '../common/files.js'
import { acquireLock } from '../session/lock.js'
import { sessionDir } from '../common/paths.js'
import { removeTree, stopLeftoverContainer } from '../run/run.js'
import { checkName, loadSession, type Session } from '../session/store.js'
import { runPatches } from '../session/patches.js'
import { patchDigest } from '../session/pushed.js'
import { isTerminal, say } from './steps/shared.js'

async function unpushed(session: Session): Promise<boolean> {
  const patches = await runPatches(session)
  if (patches.length === 0) return false
  return session.meta.pushed?.digest !== (await patchDigest(patches))
}

export async function removeCommand(name: string, options: { yes?: boolean }): Promise<number> {
  checkName(name)
  const dir = sessionDir(name)
  if (!(await pathExists(dir))) {
    throw new UserError(`session '${name}' not found — run 'realm list' to see your sessions`)
  }
  const lock = await acquireLock(dir, name, 'remove')
  try {
    // A damaged session can still be removed: only the question about unpushed work needs it readable.
    const session = await loadSession(name).catch(() => undefined)
    if (session && !options.yes && isTerminal() && (await unpushed(session))) {
      const { default: prompts } = await import('prompts')
      const { confirmed } = await prompts({
        type: 'confirm',
        name: 'confirmed',
        message: `Session '${name}' has changes that were never pushed. Delete them?`,
        initial: false,
      })
      if (!confirmed) {
        say('realm: kept the session')
        return 1
      }
    }
    // A run left behind by a realm process that died must not write into a directory being deleted.
    await stopLeftoverContainer({ dir }, 2)
    await removeTree(dir)
  } finally {
    await lock.release().catch(() => undefined)
  }
  say(`realm: removed session '${name}'`)
  return 0
}
