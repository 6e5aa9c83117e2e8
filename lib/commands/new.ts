import path from 'node:path'

import { trace } from '../common/trace.js'
import { resolveImage } from '../container/image.js'
import { fetchRemoteBranch } from '../git/remote.js'
import { findProject, readHead } from '../git/repo.js'
import { agentStarted, type RunOutcome } from '../run/run.js'
import { SessionExists } from '../session/errors.js'
import { acquireLock } from '../session/lock.js'
import { checkName, createSession, removeSessionDir, type SessionMeta, sessionExists } from '../session/store.js'
import { afterRun } from './steps/after-run.js'
import { checkImage, prepareRun, type RunCommandOptions } from './steps/prepare-run.js'

export interface NewOptions extends RunCommandOptions {
  remote?: boolean
  project?: string
}

export async function newCommand(name: string, projectArg: string | undefined, options: NewOptions, cwd = process.cwd()): Promise<number> {
  checkName(name)
  if (await sessionExists(name)) throw new SessionExists(name)
  const image = resolveImage(options.image)
  // Independent checks run side by side: each is a process start or a disk read, and they add up.
  const imageCheck = checkImage(image)
  const project = await findProject(path.resolve(cwd, projectArg ?? options.project ?? '.'))
  const [plan, head] = await Promise.all([prepareRun(options, image, project.root, imageCheck), readHead(project.root)])
  const meta: SessionMeta = { version: 1, baseCommit: head.commit, branch: head.branch, subdir: project.subdir, image }
  if (options.remote) {
    const remote = await fetchRemoteBranch(project.root, name)
    meta.baseCommit = remote.commit
    meta.branch = name
    meta.remote = { name: remote.remote, branch: name }
  }

  trace('checks done')
  const session = await createSession(name, project.root, meta)
  const lock = await acquireLock(session.dir, name, 'new')
  let outcome: RunOutcome
  try {
    outcome = await plan.run(session, 'new')
  } catch (error) {
    // If the agent never started, leave no half-made session behind; if it did, its work stays.
    if (!(await agentStarted(session))) await removeSessionDir(session)
    throw error
  } finally {
    await lock.release()
  }
  trace('run saved')
  await afterRun(session, outcome)
  trace('summary printed')
  return outcome.exitCode
}
