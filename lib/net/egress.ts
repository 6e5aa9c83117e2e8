// A run's network, put together: the broker (always: credentials never enter the container), and in the
// enforcing modes the proxy and the sidecar. All three start as early as the command knows it will run
// (net/start.ts), so that they overlap realm's own checks; the agent's container joins the sidecar's network
// namespace, which costs it none of a bridge's setup, and its agent starts once the sidecar's rules are in
// place (join). Closed when the run ends. Everything here dies with realm: the broker and the proxy live in its
// process, and the sidecar ends when realm's end of its stdin closes.
import { randomBytes } from 'node:crypto'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { dockerDir } from '../common/paths.js'
import { trace } from '../common/trace.js'
import { buildImage, imageExists } from '../container/docker.js'
import { engineLocation } from '../container/engine-location.js'
import { brokerUrl, CREDENTIAL_NAMES, DEFAULT_UPSTREAM, hostCredentials, PLACEHOLDERS, startBroker } from './broker.js'
import { type EngineFacts, engineFacts } from './engine.js'
import { fromThisMachine } from './addresses.js'
import { DESKTOP_HOST } from './sidecar-plan.js'
import { defaultRouteAddress, PODMAN_NETWORK } from './podman-network.js'
import { type AllowEntry, enforces, type NetworkMode } from './policy.js'
import type { Listening } from './listen.js'
import { proxyUrl, startProxy } from './proxy.js'
import { remoteEgress } from './remote.js'
import { type BlockedAttempt, shown } from './report.js'
import { bypasses, tunnelAgent, upstreamProxy } from './upstream.js'
import { withRelay, launchRelaySidecar } from './relay-sidecar.js'
import { configureSidecar, defaultNetImage, type Launched, launchSidecar, netImage, newSidecarPlan, type Sidecar } from './sidecar.js'

export interface EgressOptions {
  mode: NetworkMode
  allow: AllowEntry[]
  env?: NodeJS.ProcessEnv
  /** progress lines for the user (building the sidecar's image on first use) */
  notify: (line: string) => void
  /** the sidecar net/early.ts started, if it did */
  early?: Promise<Launched>
}

export interface Egress {
  mode: NetworkMode
  /** `docker run` flags for the agent's container */
  dockerArgs: string[]
  /**
   * The sidecar whose user namespace the agent's container joins along with its network namespace: rootless
   * Podman's CLI, where a container in a keep-id namespace of its own could not mount /sys in the sidecar's
   */
  userns?: string
  /** NAME=value for the agent's container: nothing secret */
  env: Record<string, string>
  /** values that carry the run's tokens: passed by name, so they stay out of the host's process list */
  secretEnv: Record<string, string>
  /**
   * Enforcing modes: waits until the sidecar's rules are in place (the agent's entrypoint waits for this before
   * it starts the agent). True then; false when the agent's container went first (`gone` settled: docker's own
   * failure, reported by the run). Rejects when the policy cannot be enforced.
   */
  join?: (gone: Promise<unknown>) => Promise<boolean>
  /** every connection blocked so far: the proxy's refusals and the sidecars' */
  blocked(): BlockedAttempt[]
  close(): Promise<void>
}

const token = () => randomBytes(24).toString('hex')

/** The refusal for an engine that cannot enforce the mode. */
function cannotEnforce(mode: NetworkMode, why: string): UserError {
  return new UserError(
    `--network ${mode} cannot be enforced on this Docker engine: ${why} — run with --network open to accept an open network`,
  )
}

interface Where {
  listen: string
  host: string
  /** which peers realm's servers take (all, when absent) */
  accept?: (peer: string | undefined) => boolean
}

/**
 * Where realm listens, and how the container names that place, for each kind of engine. On the relay path both
 * are loopback: realm's own, and the agent's namespace's, where realm-relay listens on the same ports.
 */
function addresses(facts: EngineFacts, mode: NetworkMode): Where {
  if (facts.kind === 'desktop') return { listen: '127.0.0.1', host: DESKTOP_HOST }
  if (facts.kind === 'relay' && facts.rootless && !enforces(mode)) return rootlessAddresses(mode)
  if (facts.kind === 'podman') {
    // The enforcing modes take the relay path (loopback on both ends), like any engine without Docker's bridge.
    if (mode === 'host' || enforces(mode)) return { listen: '127.0.0.1', host: '127.0.0.1' }
    return { listen: facts.host, host: facts.host }
  }
  if (mode === 'host' || (facts.kind === 'relay' && enforces(mode))) return { listen: '127.0.0.1', host: '127.0.0.1' }
  if (facts.kind === 'linux' || (facts.kind === 'relay' && facts.gateway)) return { listen: facts.gateway ?? '', host: facts.gateway ?? '' }
  throw cannotEnforce(mode, facts.why)
}

/**
 * Outside the enforcing modes (which take the relay), a rootless engine's containers reach this machine only at
 * its address on the default route (podman-network.ts). Its `--network host` is the engine's namespace, not this
 * machine's: this machine's localhost, which is what that mode is for, is out of reach there, so realm says so.
 */
function rootlessAddresses(mode: NetworkMode): Where {
  if (mode === 'host') {
    throw new UserError(
      "--network host on a rootless Docker engine is the engine's own network, where this machine's localhost is out of reach — use --network open, or a rootful engine",
    )
  }
  const address = defaultRouteAddress()
  if (!address) {
    throw new UserError(
      "this machine has no default route, so a rootless Docker engine's containers cannot reach realm's credential broker — use a rootful engine",
    )
  }
  return { listen: address, host: address, accept: fromThisMachine }
}

async function ensureNetImage(image: string, notify: (line: string) => void): Promise<void> {
  if (await imageExists(image)) return
  if (image !== defaultNetImage()) throw new UserError(`network image '${image}' not found — build it, or unset REALM_NET_IMAGE`)
  notify(`realm: building ${image} from ${path.join(dockerDir(), 'net')} (first run only)…`)
  await buildImage(image, path.join(dockerDir(), 'net'))
}

/**
 * The sidecar started early when it is of the path the engine needs (`relay`), else one started now (its image
 * built first, if need be).
 */
async function sidecarFor(
  early: Promise<Launched> | undefined,
  env: NodeJS.ProcessEnv,
  imageReady: Promise<void>,
  relay: boolean,
): Promise<Launched> {
  const launched = await early?.catch(() => undefined)
  if (launched && Boolean(launched.startRelay) === relay) return launched
  if (launched) void launched.kill()
  await imageReady
  const plan = newSidecarPlan(env, relay)
  return relay ? launchRelaySidecar(plan) : launchSidecar(plan)
}

export async function openEgress(options: EgressOptions): Promise<Egress> {
  const env = options.env ?? process.env
  const { mode } = options
  const image = netImage(env)
  const location = engineLocation(env)
  const asked = engineFacts(env)
  // Built only for an engine that can enforce: a refusal leaves no build running on behind it.
  const imageReady = enforces(mode)
    ? asked.then((facts) => (facts.kind === 'unsupported' ? undefined : ensureNetImage(image, options.notify)))
    : Promise.resolve()
  imageReady.catch(() => undefined) // awaited below
  // Whether the engine sees this machine at all: asked beside the engine's facts (milliseconds each on a socket).
  const [facts, engine] = await Promise.all([asked, location])
  // On a remote engine an open network has no sidecar, and so no relay to realm's broker (see net/remote.ts).
  if (engine.location === 'remote' && !enforces(mode)) {
    await options.early?.then((l) => l.kill()).catch(() => undefined)
    return remoteEgress(mode)
  }
  if (facts.kind === 'unsupported' && enforces(mode)) {
    // The sidecar started early holds realm's process open until it is stopped.
    await options.early?.then((l) => l.kill()).catch(() => undefined)
    throw cannotEnforce(mode, facts.why)
  }
  const where = addresses(facts, mode)

  const listeners: Listening[] = []
  let sidecar: Sidecar | undefined
  const proxyBlocked: BlockedAttempt[] = []
  const close = async () => {
    if (sidecar) await sidecar.stop()
    else await options.early?.then((l) => l.kill()).catch(() => undefined)
    await Promise.all(listeners.map((l) => l.close()))
  }
  try {
    const brokerToken = token()
    const hostProxy = upstreamProxy(env)
    const api = new URL(env.ANTHROPIC_BASE_URL || DEFAULT_UPSTREAM)
    const broker = await startBroker({
      listen: where.listen,
      accept: where.accept,
      token: brokerToken,
      upstream: api.href,
      credentials: hostCredentials(env),
      // The model API through the host's proxy too, unless NO_PROXY names it.
      agent: hostProxy?.tunnel && !bypasses(hostProxy, api.hostname, Number(api.port || 443)) ? tunnelAgent(hostProxy.tunnel) : undefined,
    })
    listeners.push(broker)
    // The agent's own requests to the broker may come through the proxy (a client that ignores NO_PROXY).
    const own: Array<{ host: string; port: number }> = []
    const secretEnv: Record<string, string> = {}
    const host = where.host
    const dockerArgs: string[] = []
    let join: Egress['join']
    let userns: string | undefined
    if (enforces(mode)) {
      const proxyToken = token()
      const proxy = await startProxy({
        listen: where.listen,
        token: proxyToken,
        allow: options.allow,
        own,
        upstream: hostProxy,
        onBlocked: (attempt) => {
          proxyBlocked.push(attempt)
          trace(`blocked ${shown(attempt)}`)
        },
      })
      listeners.push(proxy)
      own.push({ host, port: broker.port })
      const relay = facts.kind === 'relay' || facts.kind === 'podman'
      const launched = await sidecarFor(options.early, env, imageReady, relay)
      const configured = configureSidecar(launched, where.host, [proxy.port, broker.port])
      const started = relay ? withRelay(launched, configured, [proxy.port, broker.port], options.notify) : configured
      sidecar = started
      // Through the docker CLI, the sidecar's first line is the only sign that it runs, and so can be joined.
      if (!launched.running) await started.ready
      join = (gone) => whenClosed(started, gone)
      const url = proxyUrl(host, proxy.port, proxyToken)
      for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) secretEnv[name] = url
      // The sidecar holds the namespace (on the default bridge, with IPv6 disabled: sidecar-plan.ts) and the
      // agent's container joins it. No NET_RAW: a packet socket would go around the sidecar's rules. NET_ADMIN is
      // not Docker's default, and dropping it again costs nothing.
      dockerArgs.push('--network', `container:${started.name}`, '--cap-drop', 'NET_RAW', '--cap-drop', 'NET_ADMIN')
      if (facts.kind === 'podman' && facts.rootless && launched.sharedUserns) userns = started.name
    } else if (mode === 'host') {
      dockerArgs.push('--network', 'host')
    } else if (facts.kind === 'podman') {
      dockerArgs.push(...PODMAN_NETWORK)
    }
    secretEnv.ANTHROPIC_BASE_URL = brokerUrl(host, broker.port, brokerToken)
    const placeholders = Object.fromEntries(CREDENTIAL_NAMES.filter((name) => env[name]).map((name) => [name, PLACEHOLDERS[name]]))
    const noProxy = ['localhost', '127.0.0.1', '::1', host].join(',')
    return {
      mode,
      dockerArgs,
      userns,
      env: { ...placeholders, ...(enforces(mode) ? { NO_PROXY: noProxy, no_proxy: noProxy } : {}) },
      secretEnv,
      join,
      blocked: () => [...proxyBlocked, ...(sidecar?.blocked ?? [])],
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * True once the sidecar's rules are in place, false when the agent's container went first. A container that
 * went because the sidecar did (it cannot join a namespace that is gone) is the sidecar's failure, which then
 * follows within moments: that refusal is what the user is told, not docker's.
 */
async function whenClosed(sidecar: Sidecar, gone: Promise<unknown>): Promise<boolean> {
  const first = await Promise.race([
    sidecar.ready.then(() => 'ready' as const),
    gone.then(
      () => 'gone' as const,
      () => 'gone' as const,
    ),
  ])
  if (first === 'ready') return true
  await Promise.race([sidecar.ready, new Promise((resolve) => setTimeout(resolve, 2000).unref())])
  return false
}
