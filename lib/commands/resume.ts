import fs from 'node:fs/promises'

import { UserError } from '../common/errors.js'
import { resolveImage } from '../container/image.js'
import { commitExists } from '../git/repo.js'
import type { RunOutcome } from '../run/run.js'
import { afterRun } from './steps/after-run.js'
import { openSession } from './steps/open-session.js'
import { checkImage, prepareRun, type RunCommandOptions } from './steps/prepare-run.js'

export async function resumeCommand(name: string, options: RunCommandOptions): Promise<number> {
  const { session, lock } = await openSession(name, 'resume')
  let outcome: RunOutcome
  try {
    const root = session.projectDir
    const image = options.image ? resolveImage(options.image) : session.meta.image
    const imageCheck = checkImage(image) // docker answers while the project is checked
    if (
      !(await fs.stat(root).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      throw new UserError(
        `the project directory ${root} of session '${name}' no longer exists — restore it, or remove the session with 'realm remove ${name}'`,
      )
    }
    if (!(await commitExists(root, session.meta.baseCommit))) {
      throw new UserError(
        `the commit ${session.meta.baseCommit.slice(0, 12)} session '${name}' started from is no longer in ${root} — fetch it back or remove the session`,
      )
    }
    const plan = await prepareRun(options, image, root, imageCheck)
    outcome = await plan.run(session, 'resume')
  } finally {
    await lock.release()
  }
  await afterRun(session, outcome)
  return outcome.exitCode
}
