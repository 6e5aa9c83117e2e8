import { UserError } from '../common/errors.js'
import { pathExists } from '../common/files.js'
import { acquireLock } from '../session/lock.js'
import { sessionDir } from '../session/layout.js'
import { filesCount, type ShownInterruptedRun, withInterruptedRun } from '../run/pending.js'
import { stopLeftoverContainer } from '../run/recover.js'
import { removeTree } from '../run/run.js'
import { checkName, loadSession, type Session } from '../session/store.js'
import { runPatches } from '../session/patches.js'
import { patchDigest } from '../session/pushed.js'
import { isTerminal, say } from '../cli/output.js'

/** What an interrupted run would lose, in words: "an interrupted run whose work was never saved (2 files: a, b)". */
function unsavedWork(run: ShownInterruptedRun): string {
  const shown = run.paths.slice(0, 5).join(', ')
  const more = run.paths.length > 5 ? `, and ${run.paths.length - 5} more` : ''
  return `an interrupted run whose work was never saved (${filesCount(run)}${run.paths.length ? `: ${shown}${more}` : ''})`
}

async function confirm(message: string): Promise<boolean> {
  const { default: prompts } = await import('prompts')
  const { confirmed } = (await prompts({ type: 'confirm', name: 'confirmed', message, initial: false })) as { confirmed?: boolean }
  return confirmed === true
}

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
    // Work that is in no session file yet: a run whose realm process died before saving it.
    const unsaved = await withInterruptedRun({ dir }, async (run) => run && unsavedWork(run))
    if (unsaved && !options.yes) {
      if (!isTerminal()) {
        throw new UserError(
          `session '${name}' has ${unsaved}; removing it would lose that — save it with 'realm apply --check ${name}' (or resume, apply, push), or delete it anyway with 'realm remove --yes ${name}'`,
        )
      }
      if (!(await confirm(`Session '${name}' has ${unsaved}. Delete the session and that work?`))) {
        say('realm: kept the session')
        return 1
      }
    }
    // A damaged session can still be removed: only the question about unpushed work needs it readable.
    const session = await loadSession(name).catch(() => undefined)
    if (session && !unsaved && !options.yes && isTerminal() && (await unpushed(session))) {
      if (!(await confirm(`Session '${name}' has changes that were never pushed. Delete them?`))) {
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
