// What several commands share: image and docker-args resolution, opening a session safely, printing a run.
import kleur from 'kleur'

import { defaultImageBuildArgs } from '../../container/agent-env.js'
import { buildImage, DEFAULT_IMAGE, imageExists } from '../../container/docker.js'
import { UserError } from '../../common/errors.js'
import { acquireLock, type Lock } from '../../session/lock.js'
import { dockerDir } from '../../common/paths.js'
import { recoverRun, type RunOutcome } from '../../run/run.js'
import { riskLines } from '../../patch/risk.js'
import { checkPatches, loadSession, removeSessionDir, type Session } from '../../session/store.js'
import { sessionFiles } from '../../session/patches.js'
import { splitShellWords } from '../../common/shell-words.js'
import { renderRunSummary } from '../../patch/summary.js'

export function say(line = ''): void {
  process.stderr.write(`${line}\n`)
}

export function resolveImage(option: string | undefined, env = process.env): string {
  return option || env.REALM_IMAGE || DEFAULT_IMAGE
}

/** Starts asking docker whether `image` exists, so that the answer arrives while realm reads the repository. */
export function checkImage(image: string): Promise<boolean> {
  const exists = imageExists(image)
  exists.catch(() => undefined) // awaited later; failing before that must not count as an unhandled rejection
  return exists
}

/** Makes sure the image exists: the default one is built from docker/ on first use, any other must exist. */
export async function ensureImage(image: string, exists = checkImage(image)): Promise<void> {
  if (await exists) return
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

export function isTerminal(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY)
}

/**
 * Loads a session and takes its lock. A run whose realm process died is finished first (its container
 * stopped and its last capture saved), and the user is told what was recovered.
 */
export async function openSession(name: string, command: string): Promise<{ session: Session; lock: Lock }> {
  const session = await loadSession(name)
  const lock = await acquireLock(session.dir, name, command)
  try {
    const recovered = await recoverRun(session, session.projectDir)
    if (recovered && recovered.mode === 'new' && recovered.status === 'not-started') {
      await removeSessionDir(session)
      throw new UserError(
        `session '${name}' was still being created when its realm process died; it has been removed — start it again with 'realm new'`,
      )
    }
    if (recovered?.status === 'saved' || recovered?.status === 'recovered') {
      say(
        kleur.yellow(
          `realm: recovered the interrupted run of '${name}' (${recovered.status === 'saved' ? 'its final capture' : 'its last snapshot'})`,
        ),
      )
    } else if (recovered?.status === 'unverified') {
      say(kleur.red(`realm: the interrupted run of '${name}' left a patch that does not apply; it is kept at ${recovered.keptAt}`))
    }
    await checkPatches(session)
  } catch (error) {
    await lock.release()
    throw error
  }
  return { session, lock }
}

export async function printRunOutcome(session: Session, outcome: RunOutcome): Promise<void> {
  const files = outcome.save.status === 'unverified' ? { run: [], session: [] } : await sessionFiles(session)
  for (const line of renderRunSummary({
    name: session.name,
    exitCode: outcome.exitCode,
    workspace:
      outcome.strategy === 'overlay'
        ? 'overlay (ignored files present)'
        : outcome.includeIgnored
          ? 'copy (ignored files copied)'
          : 'copy (ignored files left out; --include-ignored copies them)',
    save: outcome.save,
    run: files.run,
    session: files.session,
    riskLines: riskLines(files.session),
  }))
    say(line)
  if (files.run.length > 0 && isTerminal()) await (await import('./review.js')).reviewAfterRun(session, say)
}
