import path from 'node:path'

import kleur from 'kleur'

import { hasCredential, NO_CREDENTIAL_HINT } from '../container/agent-env.js'
import { UserError } from '../common/errors.js'
import { findProject, readGitSettings, readHead } from '../git/repo.js'
import { acquireLock } from '../session/lock.js'
import { realmHome } from '../common/paths.js'
import { agentCommand } from '../cli/argv.js'
import { fetchRemoteBranch } from '../git/remote.js'
import { agentStarted, runAgent } from '../run/run.js'
import { checkName, createSession, removeSessionDir, sessionExists, type SessionMeta } from '../session/store.js'
import { trace } from '../common/trace.js'
import { chooseStrategy, parseStrategy } from '../run/workspace.js'
import { checkImage, dockerArgs, ensureImage, isTerminal, printRunOutcome, resolveImage, say } from './steps/shared.js'

export interface RunCommandOptions {
  image?: string
  dockerArgs?: string
  shell?: boolean
  workspace?: string
  includeIgnored?: boolean
  agentArgs: string[]
}

export interface NewOptions extends RunCommandOptions {
  remote?: boolean
  project?: string
}

/**
 * Checks everything a run needs before anything is written, and returns how to run. `imageCheck` is docker's
 * answer about the image when the caller asked early (see checkImage).
 */
export async function prepareRun(options: RunCommandOptions, image: string, root: string, imageCheck?: Promise<boolean>) {
  const extraArgs = dockerArgs(options.dockerArgs)
  // The user's git settings the container needs are read while docker answers about the image.
  const gitSettings = readGitSettings(root)
  gitSettings.catch(() => undefined) // awaited by the run; a failure before then is reported there
  const strategy = await chooseStrategy(
    parseStrategy(options.workspace ?? process.env.REALM_WORKSPACE, options.workspace ? '--workspace' : 'REALM_WORKSPACE'),
    [root, realmHome()],
  )
  await ensureImage(image, imageCheck)
  if (!options.shell && !hasCredential(process.env)) {
    say(kleur.yellow(NO_CREDENTIAL_HINT))
  }
  if (strategy.reason) say(`realm: using a copy of the project (${strategy.reason})`)
  return { extraArgs, strategy, gitSettings, tty: isTerminal(), command: agentCommand(options.agentArgs, Boolean(options.shell)) }
}

export async function newCommand(name: string, projectArg: string | undefined, options: NewOptions, cwd = process.cwd()): Promise<number> {
  checkName(name)
  if (await sessionExists(name)) {
    throw new UserError(`session '${name}' already exists — resume it with 'realm resume ${name}' or pick another name`)
  }
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
  let outcome
  try {
    outcome = await runAgent({
      session,
      mode: 'new',
      root: project.root,
      command: plan.command,
      image,
      strategy: plan.strategy,
      dockerArgs: plan.extraArgs,
      gitSettings: plan.gitSettings,
      tty: plan.tty,
      includeIgnored: Boolean(options.includeIgnored),
      notify: say,
    })
  } catch (error) {
    // If the agent never started, leave no half-made session behind; if it did, its work stays.
    if (!(await agentStarted(session))) await removeSessionDir(session)
    throw error
  } finally {
    await lock.release()
  }
  trace('run saved')
  await printRunOutcome(session, outcome)
  trace('summary printed')
  return outcome.exitCode
}
