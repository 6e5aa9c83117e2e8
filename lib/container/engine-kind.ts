// Which engine realm drives, and whether it is rootless (container/engine-dialect.ts says what follows from it).
// Podman's CLI says so itself; Docker's CLI may be talking to Podman's Docker-compatible socket, which says so in
// its /version (Podman's /info looks much like Docker's). Asked once a process, on the socket: milliseconds.
import { readFileSync } from 'node:fs'

import { engineProgram } from './engine-cli.js'
import { type EngineKind, DOCKER, type HostLimits, parseHardLimits } from './engine-dialect.js'
import { engineRequest, engineSocket } from './engine-api.js'

/** Whether an engine's /version (or `version` as JSON) names Podman (pure, for tests). */
export function isPodmanVersion(version: unknown): boolean {
  const components = (version as { Components?: unknown })?.Components
  return Array.isArray(components) && components.some((c) => /podman/i.test(String((c as { Name?: unknown })?.Name ?? '')))
}

/**
 * Whether an engine's info says it is rootless: Docker's /info lists it among SecurityOptions, Podman's own
 * (/libpod/info) says host.security.rootless; Podman's Docker-compatible /info does not say (Podman 4.3).
 */
export function isRootlessInfo(info: unknown): boolean {
  const options = (info as { SecurityOptions?: unknown })?.SecurityOptions
  if (Array.isArray(options) && options.some((o) => /name=rootless/.test(String(o)))) return true
  return (info as { host?: { security?: { rootless?: unknown } } })?.host?.security?.rootless === true
}

/** Podman's service can take seconds to answer on a loaded machine; Docker answers in milliseconds. */
const ASK_TIMEOUT_MS = 15_000

async function getJson(socket: string, urlPath: string): Promise<unknown> {
  const answer = await engineRequest(socket, 'GET', urlPath, undefined, ASK_TIMEOUT_MS)
  if (answer.status !== 200) throw new Error(`status ${answer.status}`)
  return JSON.parse(answer.body)
}

let asked: Promise<EngineKind> | undefined

/** The engine realm drives. Docker's when it cannot tell: Docker's CLI then says what is wrong. */
export function engineKind(env: NodeJS.ProcessEnv = process.env): Promise<EngineKind> {
  asked ??= findEngineKind(env)
  return asked
}

async function findEngineKind(env: NodeJS.ProcessEnv): Promise<EngineKind> {
  // Podman's CLI run by anyone but root is rootless Podman.
  if (engineProgram(env) === 'podman') return { engine: 'podman', podmanCli: true, rootless: process.getuid?.() !== 0 }
  const socket = engineSocket(env)
  if (!socket) return DOCKER
  try {
    // /version first: Docker answers it at once, and only Podman's /info need be asked whether it is rootless.
    if (isPodmanVersion(await getJson(socket, '/version'))) {
      return { engine: 'podman', podmanCli: false, rootless: isRootlessInfo(await getJson(socket, '/v4.0.0/libpod/info')) }
    }
  } catch {
    // not answering: Docker's CLI reports it
  }
  return DOCKER
}

/** realm's own hard limits (Linux), which a Podman container's may not exceed. */
export function hostLimits(): HostLimits {
  try {
    return parseHardLimits(readFileSync('/proc/self/limits', 'utf8'))
  } catch {
    return {}
  }
}
