// Whether the engine sees this machine's files: a local engine does (realm bind-mounts the project, the session
// and its own scripts); a remote one (DOCKER_HOST=tcp:// or ssh://, a context, a VM that shares nothing) has a
// filesystem of its own, where none of these paths exist, and gets the workspace as a stream instead (see
// run/remote-run.ts). realm asks the engine itself rather than guess from DOCKER_HOST: it sends a container
// create with a bind mount of a directory realm just made and an image name that exists nowhere, so that no
// container is ever made. An engine that sees the directory answers "no such image"; one that does not, "bind
// source path does not exist". The answer is kept per engine (by the ID in its /info), so the question is
// asked once; the ID is asked on the engine's socket when realm can (milliseconds), else through the CLI.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { errorCode, firstLine, UserError } from '../common/errors.js'
import { realmHome } from '../common/paths.js'
import { PRIVATE_FILE_MODE, privateDirSync } from '../common/private.js'
import { runProgram } from '../common/spawn.js'
import { engineProgram } from './engine-cli.js'
import { engineEndpoint, engineHttp } from './engine-http.js'

export type EngineLocation = 'local' | 'remote'

export interface Engine {
  /** the engine's ID (from /info) */
  id: string
  location: EngineLocation
  /** asked in this process (the first run against this engine), not remembered */
  probed?: boolean
}

/** An image reference no engine has: the probe must never make a container. */
const PROBE_IMAGE = 'realm-probe-absent-image:none'

/** How the user names the engine they use, for messages: DOCKER_HOST, else the context, else the default. */
export function engineName(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST}`
  if (env.DOCKER_CONTEXT) return `the Docker context ${env.DOCKER_CONTEXT}`
  return 'the current Docker context'
}

/** The one-line refusal for an engine realm cannot reach. */
export function unreachable(detail: string, env: NodeJS.ProcessEnv = process.env): UserError {
  if (/permission denied/i.test(detail)) {
    return new UserError(
      `permission denied on the Docker socket — add yourself to the 'docker' group (sudo usermod -aG docker $USER, then log in again) (${detail})`,
    )
  }
  return new UserError(
    `cannot reach the Docker engine (${engineName(env)}): ${detail} — start it, or check DOCKER_HOST / 'docker context ls'`,
  )
}

/** Pure: what the engine's answer to the probe says about where it is; undefined when it says neither. */
export function readProbeAnswer(message: string): EngineLocation | undefined {
  if (/bind source path does not exist|no such file or directory|not a directory/i.test(message)) return 'remote'
  if (/no such image|image not known|not found|unable to find image|pull access denied|manifest unknown/i.test(message)) return 'local'
  return undefined
}

/** The engine's ID; throws the one-line refusal when it cannot be reached. */
async function engineId(): Promise<string> {
  const endpoint = engineEndpoint()
  if (endpoint) {
    const answer = await engineHttp(endpoint, 'GET', '/info', undefined, 10_000).catch(() => undefined)
    if (answer?.status === 200) {
      const id = (JSON.parse(answer.body) as { ID?: unknown }).ID
      if (typeof id === 'string' && id) return id
    }
  }
  const result = await runProgram(engineProgram(), ['info', '--format', '{{.ID}}'])
  if (errorCode(result.error) === 'ENOENT') throw new UserError('docker is not installed — install Docker Engine and try again')
  const id = result.stdout.trim()
  if (result.exitCode !== 0 || !id) throw unreachable(firstLine(result.stderr) || 'no answer')
  return id
}

/** Sends the probe: a create with a bind mount of `dir` and an image that does not exist. */
async function probe(dir: string): Promise<string> {
  const endpoint = engineEndpoint()
  if (endpoint) {
    const spec = {
      Image: PROBE_IMAGE,
      HostConfig: { Mounts: [{ Type: 'bind', Source: dir, Target: '/realm-probe', ReadOnly: true }] },
    }
    const answer = await engineHttp(endpoint, 'POST', '/containers/create', JSON.stringify(spec)).catch(() => undefined)
    if (answer) return answer.body
  }
  const result = await runProgram(engineProgram(), [
    'create',
    '--pull',
    'never',
    '--mount',
    `type=bind,src=${dir},dst=/realm-probe,readonly`,
    PROBE_IMAGE,
  ])
  return result.stderr
}

function cacheFile(id: string): string {
  return path.join(realmHome(), 'engines', `${id.replace(/[^A-Za-z0-9]/g, '_')}.location`)
}

/** Asks (or remembers) whether the engine sees this machine's files. */
async function locate(): Promise<Engine> {
  const id = await engineId()
  const file = cacheFile(id)
  try {
    const known = fs.readFileSync(file, 'utf8').trim()
    if (known === 'local' || known === 'remote') return { id, location: known }
  } catch {
    // not asked yet
  }
  const dir = path.join(realmHome(), 'tmp', `probe-${randomBytes(6).toString('hex')}`)
  privateDirSync(dir)
  let answer: string
  try {
    answer = await probe(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const location = readProbeAnswer(answer)
  // An answer that says neither is not remembered: today's path (local) is taken, and the next run asks again.
  if (!location) return { id, location: 'local' }
  privateDirSync(path.dirname(file))
  fs.writeFileSync(file, `${location}\n`, { mode: PRIVATE_FILE_MODE })
  return { id, location, probed: true }
}

let located: { key: string; engine: Promise<Engine> } | undefined

/** The engine and whether it sees this machine's files, asked once per process (the network's set-up and the run both ask). */
export function engineLocation(env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  const key = `${env.DOCKER_HOST ?? ''}\0${env.DOCKER_CONTEXT ?? ''}\0${env.REALM_ENGINE ?? ''}\0${env.REALM_HOME ?? ''}`
  if (located?.key === key) return located.engine
  const engine = locate()
  engine.catch(() => undefined) // awaited by whoever asked
  located = { key, engine }
  return engine
}
