import kleur from 'kleur'

import { parsePatch } from '../patch/parse.js'
import { pushSession } from '../deliver/push.js'
import { riskLines } from '../patch/risk.js'
import { combinedPatch } from '../session/patches.js'
import { statLine } from '../patch/summary.js'
import { openSession, say } from './steps/shared.js'

export interface PushCommandOptions {
  remote?: string
  branch?: string
  force?: boolean
}

export async function pushCommand(name: string, options: PushCommandOptions): Promise<number> {
  const { session, lock } = await openSession(name, 'push')
  const remote = options.remote || 'origin'
  const branch = options.branch || name
  try {
    const files = parsePatch(await combinedPatch(session))
    const result = await pushSession(session, { remote, branch, force: options.force })
    say(statLine('Pushed', files))
    for (const line of riskLines(files)) say(line)
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
