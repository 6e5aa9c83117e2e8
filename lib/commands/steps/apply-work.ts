// `realm apply` and the review's "Apply": the session's change into the working tree, then what happened.
import kleur from 'kleur'

import { type ApplyResult, applySession } from '../../deliver/apply.js'
import { flagLines } from '../../patch/risk.js'
import { fileLines, statLine } from '../../patch/summary.js'
import { say } from '../../cli/output.js'
import { openSession } from './open-session.js'

export async function applyWork(name: string, options: { check?: boolean }): Promise<number> {
  const { session, lock } = await openSession(name, 'apply')
  let result: ApplyResult
  try {
    result = await applySession(session, { check: options.check })
  } finally {
    await lock.release()
  }
  const summary = [statLine('Session', result.files), ...fileLines(result.files), ...flagLines(result.flags)]
  const where = session.projectDir
  if (result.status === 'would-apply') {
    for (const line of summary) say(line)
    say(
      result.method === 'clean'
        ? `realm: the session's changes apply cleanly to ${where}`
        : `realm: the session's changes need a 3-way merge in ${where}; conflicts are possible (run without --check to try)`,
    )
    return 0
  }
  if (result.status === 'conflicts') {
    for (const line of summary) say(line)
    say(
      kleur
        .red()
        .bold(
          `realm: applied with conflicts in ${result.conflicts.length} file${result.conflicts.length === 1 ? '' : 's'} — resolve them, then 'git add' each:`,
        ),
    )
    for (const file of result.conflicts) say(kleur.red(`  U ${file}`))
    return 1
  }
  for (const line of summary) say(line)
  say(
    kleur.green(
      `realm: applied the session's changes to ${where}${result.method === '3way' ? ' (3-way merge; the changes are staged)' : ''}`,
    ),
  )
  return 0
}
