// Everything `new` and `resume` check before a run, and the run itself: image, docker flags, workspace,
// credentials, then runAgent with one options object.
import kleur from 'kleur'

import { isTerminal, say } from '../../cli/output.js'
import { agentCommand } from '../../cli/argv.js'
import { UserError } from '../../common/errors.js'
import { dockerDir, realmHome } from '../../common/paths.js'
import { splitShellWords } from '../../common/shell-words.js'
import { hasCredential, NO_CREDENTIAL_HINT } from '../../container/agent-env.js'
import { buildImage, imageExists } from '../../container/docker.js'
import { type Engine, engineLocation } from '../../container/engine-location.js'
import { imageMissingRemote } from '../../container/remote.js'
import { DEFAULT_IMAGE, defaultImageBuildArgs } from '../../container/image.js'
import { type LimitChoice, readLimits } from '../../container/limits.js'
import { readGitSettings } from '../../git/settings.js'
import { hasConversation, withConversation } from '../../run/conversation.js'
import { claudeHistoryDir } from '../../run/host-run.js'
import { findHidden, userHideMatcher } from '../../run/hidden.js'
import { type RunOptions, type RunOutcome, runAgent } from '../../run/run.js'
import type { RunMode } from '../../run/save.js'
import { chooseStrategy, parseStrategy } from '../../run/workspace.js'
import type { Session } from '../../session/store.js'
import { loginFileNotice, type NetworkChoice, startNetwork } from '../../net/start.js'

const COPY_ON_REMOTE =
  "realm: the Docker engine is remote (it cannot see this machine's files): the project goes in as a copy, in the container's memory"
const OVERLAY_ON_REMOTE =
  "--workspace overlay needs a Docker engine that sees this machine's files, and this one is remote — use --workspace copy (or leave it out)"

export interface RunCommandOptions extends NetworkChoice, LimitChoice {
  image?: string
  dockerArgs?: string
  shell?: boolean
  /** resume: start a new Claude Code conversation instead of continuing the session's */
  fresh?: boolean
  workspace?: string
  includeIgnored?: boolean
  /** --hide and --show, once or repeated */
  hide?: string | string[]
  show?: string | string[]
  agentArgs: string[]
}

/** Starts asking docker whether `image` exists, so that the answer arrives while realm reads the repository. */
export function checkImage(image: string): Promise<boolean> {
  const exists = imageExists(image)
  exists.catch(() => undefined) // awaited later; failing before that must not count as an unhandled rejection
  return exists
}

/** Makes sure the image exists: the default one is built from docker/ on first use, any other must exist. */
async function ensureImage(image: string, exists: Promise<boolean>, engine: Promise<Engine>): Promise<void> {
  if (await exists) return
  if (image !== DEFAULT_IMAGE && (await engine).location === 'remote') throw imageMissingRemote(image)
  if (image !== DEFAULT_IMAGE) {
    throw new UserError(`image '${image}' not found — build or pull it first, or unset REALM_IMAGE / --image to use ${DEFAULT_IMAGE}`)
  }
  say(kleur.bold(`realm: building ${DEFAULT_IMAGE} from ${dockerDir()} (first run only; this takes a few minutes)…`))
  await buildImage(DEFAULT_IMAGE, dockerDir(), defaultImageBuildArgs())
}

export function dockerArgs(option: string | undefined, env = process.env): string[] {
  const text = option ?? env.REALM_DOCKER_ARGS ?? ''
  try {
    return splitShellWords(text)
  } catch (error) {
    throw new UserError(`cannot read ${option !== undefined ? '--docker-args' : 'REALM_DOCKER_ARGS'}: ${(error as Error).message}`)
  }
}

/**
 * Checks everything a run needs before anything is written, and returns how to run it. `imageCheck` is docker's
 * answer about the image, asked early (see checkImage).
 */
export async function prepareRun(options: RunCommandOptions, image: string, root: string, imageCheck: Promise<boolean>) {
  const extraArgs = dockerArgs(options.dockerArgs)
  const limits = readLimits(options)
  // First, so that the network sidecar starts while everything below is checked.
  const network = startNetwork(
    options,
    { args: extraArgs, source: options.dockerArgs !== undefined ? '--docker-args' : 'REALM_DOCKER_ARGS' },
    say,
    { caps: limits.caps, source: options.caps !== undefined ? '--caps' : 'REALM_CAPS' },
  )
  try {
    return await checkRun(options, image, root, imageCheck, { extraArgs, limits }, network)
  } catch (error) {
    await network.abandon()
    throw error
  }
}

async function checkRun(
  options: RunCommandOptions,
  image: string,
  root: string,
  imageCheck: Promise<boolean>,
  { extraArgs, limits }: Pick<RunOptions, 'limits'> & { extraArgs: string[] },
  { egress: network, mode: networkMode }: { egress: RunOptions['network']; mode: string },
) {
  // The user's git settings the container needs are read while docker answers about the image, and the secret
  // files to hide are found meanwhile too.
  const gitSettings = readGitSettings(root)
  gitSettings.catch(() => undefined) // awaited by the run; a failure before then is reported there
  const hidden = userHideMatcher(options).then((matcher) => findHidden(root, matcher))
  hidden.catch(() => undefined) // the same
  // Whether the engine sees this machine's files (asked once, and remembered per engine).
  const engine = engineLocation()
  const strategy = await chooseStrategy(
    parseStrategy(options.workspace ?? process.env.REALM_WORKSPACE, options.workspace ? '--workspace' : 'REALM_WORKSPACE'),
    [root, realmHome()],
  )
  await ensureImage(image, imageCheck, engine)
  const { location, probed } = await engine
  const remote = location === 'remote'
  if (remote && strategy.forced && strategy.strategy === 'overlay') throw new UserError(OVERLAY_ON_REMOTE)
  if (!options.shell && !hasCredential(process.env)) say(kleur.yellow(NO_CREDENTIAL_HINT))
  // Said once, when realm finds the engine remote; each run's summary says `workspace: copy`.
  if (remote && probed) say(COPY_ON_REMOTE)
  else if (strategy.reason) say(`realm: using a copy of the project (${strategy.reason})`)
  const login = loginFileNotice()
  if (login) say(kleur.yellow(login))
  return {
    run: async (session: Session, mode: RunMode): Promise<RunOutcome> =>
      runAgent({
        session,
        mode,
        root,
        command: agentCommand(
          withConversation(options.agentArgs, {
            mode,
            fresh: Boolean(options.fresh),
            hasConversation: await hasConversation(claudeHistoryDir(session)),
          }),
          Boolean(options.shell),
        ),
        image,
        strategy,
        dockerArgs: extraArgs,
        limits,
        gitSettings,
        tty: isTerminal(),
        includeIgnored: Boolean(options.includeIgnored),
        notify: say,
        network,
        asked: { args: options.agentArgs, shell: Boolean(options.shell), network: networkMode },
        hidden,
      }),
  }
}
