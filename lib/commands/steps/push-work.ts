// `realm push` and the review's "Push": the session as a commit on its start commit, pushed, then what happened.
import kleur from 'kleur'

import { pushSession } from '../../deliver/push.js'
import { DEFAULT_REMOTE } from '../../git/defaults.js'
import { flagLines } from '../../patch/risk.js'
import { statLine } from '../../patch/summary.js'
import { say } from '../../cli/output.js'
import { openSession } from './open-session.js'

export interface PushCommandOptions {
  remote?: string
  branch?: string
  force?: boolean
}

export async function pushWork(name: string, options: PushCommandOptions): Promise<number> {
  const { session, lock } = await openSession(name, 'push')
  const remote = options.remote || DEFAULT_REMOTE
  const branch = options.branch || name
  try {
    const result = await pushSession(session, { remote, branch, force: options.force })
    say(statLine('Pushed', result.summary.files))
    for (const line of flagLines(result.summary.flags)) say(line)
    if (result.baselineCommit)
      say(`realm: ${result.baselineCommit.slice(0, 12)} holds your uncommitted changes from the session start; the agent's work is on top`)
    say(
      kleur.green(
        result.upToDate
          ? `realm: ${remote}/${branch} is already at ${result.commit.slice(0, 12)}`
          : `realm: pushed ${result.commit.slice(0, 12)} to ${remote}/${branch}`,
      ),
    )
  } finally {
    await lock.release()
  }
  return 0
}
