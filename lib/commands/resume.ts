import fs from 'node:fs/promises'

import { UserError } from '../common/errors.js'
import { commitExists } from '../git/repo.js'
import { runAgent } from '../run/run.js'
import { prepareRun, type RunCommandOptions } from './new.js'
import { checkImage, openSession, printRunOutcome, resolveImage, say } from './steps/shared.js'

export async function resumeCommand(name: string, options: RunCommandOptions): Promise<number> {
  const { session, lock } = await openSession(name, 'resume')
  let outcome
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
    outcome = await runAgent({
      session,
      mode: 'resume',
      root,
      command: plan.command,
      image,
      strategy: plan.strategy,
      dockerArgs: plan.extraArgs,
      gitSettings: plan.gitSettings,
      tty: plan.tty,
      includeIgnored: Boolean(options.includeIgnored),
      notify: say,
    })
  } finally {
    await lock.release()
  }
  await printRunOutcome(session, outcome)
  return outcome.exitCode
}
