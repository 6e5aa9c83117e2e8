// The only module that talks to Docker. What to run is planned by plan.ts; this module runs it, with Node's own
// spawn (common/spawn.ts): it lies on the way to the agent's container, where execa would cost its loading.
import { errorCode, firstLine, UserError } from '../common/errors.js'
import { runProgram } from '../common/spawn.js'
import { engineMissing, engineProgram } from './engine-cli.js'
import { engineEndpoint, engineHttp } from './engine-http.js'

/** Turns docker's complaint about the engine into what the user should do about it. */
function engineError(stderr: string): UserError {
  const line = firstLine(stderr)
  if (engineProgram() === 'podman') {
    return new UserError(
      `cannot reach Podman — check 'podman info' (a remote one: CONTAINER_HOST, 'podman system connection list') (${line})`,
    )
  }
  if (/permission denied/i.test(line)) {
    return new UserError(
      `permission denied on the Docker socket — add yourself to the 'docker' group (sudo usermod -aG docker $USER, then log in again) (${line})`,
    )
  }
  return new UserError(`cannot reach the Docker daemon — start it (e.g. 'sudo systemctl start docker') or check DOCKER_HOST (${line})`)
}

/** The HTTP status of a GET on the engine's API, or undefined when the engine cannot be asked this way. */
function engineStatus(endpoint: string, urlPath: string): Promise<number | undefined> {
  return engineHttp(endpoint, 'GET', urlPath, undefined, 2000).then(
    (answer) => answer.status,
    () => undefined,
  )
}

/** Whether `image` exists locally; throws a UserError when Docker is missing or the daemon unreachable. */
export async function imageExists(image: string): Promise<boolean> {
  // Asking the engine's socket takes a few milliseconds; starting the docker CLI takes twenty, before every run.
  // When the socket does not answer plainly, the CLI does, with its own error for the user.
  const endpoint = engineEndpoint()
  if (endpoint) {
    const status = await engineStatus(endpoint, `/images/${encodeURIComponent(image)}/json`)
    if (status === 200) return true
    if (status === 404) return false
  }
  const result = await runProgram(engineProgram(), ['image', 'inspect', '--format', '{{.Id}}', image])
  if (errorCode(result.error) === 'ENOENT') {
    throw engineMissing()
  }
  if (result.error) throw result.error
  if (result.exitCode === 0) return true
  if (/no such image/i.test(result.stderr)) return false
  throw engineError(result.stderr)
}

/** Builds `tag` from `context`, with docker's progress on stderr so stdout stays clean for scripts. */
export async function buildImage(tag: string, context: string, buildArgs: string[] = []): Promise<void> {
  const result = await runProgram(engineProgram(), ['build', '-t', tag, ...buildArgs, context], { stdio: ['ignore', 2, 'inherit'] })
  if (result.exitCode !== 0) {
    throw new UserError(
      `building the image ${tag} failed (docker build exited ${result.exitCode}) — see the output above; TROUBLESHOOTING.md has the usual causes`,
    )
  }
}

/**
 * Runs `docker <args>` attached to realm's terminal and resolves to its exit code. `env`: values the docker
 * client reads for `-e NAME` flags, kept out of its argv and so out of the host's process list. The child is
 * spawned by the time this returns (its promise).
 */
export function runAttached(args: string[], env: Record<string, string> = {}): Promise<number> {
  // Among `env` may be the run's proxy, which the CLI must not take for its own connection to a tcp engine: the
  // agent's NO_PROXY is always given as NAME=value in `args`, so this one is the client's alone.
  return runProgram(engineProgram(), args, { stdio: 'inherit', env: { ...env, NO_PROXY: '*', no_proxy: '*' } }).then((result) => {
    if (result.exitCode !== undefined) return result.exitCode
    if (errorCode(result.error) === 'ENOENT') throw engineMissing()
    if (result.error) throw result.error
    return 128 + 9 // killed by a signal
  })
}

/** Asks the container to stop: SIGTERM to the entrypoint, which captures the agent's work and exits. */
export async function stopContainer(name: string, seconds = 10): Promise<void> {
  await runProgram(engineProgram(), ['stop', '--time', String(seconds), name])
}

export async function containerRunning(name: string): Promise<boolean> {
  const result = await runProgram(engineProgram(), ['inspect', '--format', '{{.State.Running}}', name])
  return result.exitCode === 0 && result.stdout.trim() === 'true'
}

/** Waits until the container is gone (it runs with --rm) or `timeoutMs` passes. */
export async function waitForContainer(name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const result = await runProgram(engineProgram(), ['inspect', '--format', '{{.State.Status}}', name])
    if (result.exitCode !== 0) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
