// A run's network, put together: the broker (always: credentials never enter the container), and in the
// enforcing modes the proxy and the sidecar. The broker and the proxy start as early as the command knows it
// will run; the sidecar joins the agent's container once that runs (join), which costs far less than a
// namespace of its own on the bridge. Closed when the run ends. Everything here dies with realm: the broker and
// the proxy live in its process, and the sidecar ends when realm's end of its stdin closes.
import { randomBytes } from 'node:crypto'
import path from 'node:path'

import { UserError } from '../common/errors.js'
import { dockerDir } from '../common/paths.js'
import { trace } from '../common/trace.js'
import { buildImage, imageExists } from '../container/docker.js'
import { brokerUrl, CREDENTIAL_NAMES, DEFAULT_UPSTREAM, hostCredentials, PLACEHOLDERS, startBroker } from './broker.js'
import { DESKTOP_HOST, type EngineFacts, engineFacts } from './engine.js'
import { type AllowEntry, enforces, type NetworkMode } from './policy.js'
import type { Listening } from './listen.js'
import { type BlockedAttempt, proxyUrl, startProxy } from './proxy.js'
import { DEFAULT_NET_IMAGE, netImage, type Sidecar, startSidecar } from './sidecar.js'

export interface EgressOptions {
  mode: NetworkMode
  allow: AllowEntry[]
  env?: NodeJS.ProcessEnv
  /** progress lines for the user (building the sidecar's image on first use) */
  notify: (line: string) => void
}

export interface Egress {
  mode: NetworkMode
  /** `docker run` flags for the agent's container */
  dockerArgs: string[]
  /** NAME=value for the agent's container: nothing secret */
  env: Record<string, string>
  /** values that carry the run's tokens: passed by name, so they stay out of the host's process list */
  secretEnv: Record<string, string>
  /**
   * Enforcing modes: closes the network of the agent's container `container` once it runs (its entrypoint waits
   * for this before it starts the agent). True once the rules are in place; false when the container went first
   * (`gone` settled: docker's own failure, reported by the run). Rejects when the policy cannot be enforced.
   */
  join?: (container: string, gone: Promise<unknown>) => Promise<boolean>
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

/** Where realm listens, and how the container names that place, for each kind of engine. */
function addresses(facts: EngineFacts, mode: NetworkMode): { listen: string; host: string } {
  if (facts.kind === 'desktop') return { listen: '127.0.0.1', host: DESKTOP_HOST }
  if (mode === 'host') return { listen: '127.0.0.1', host: '127.0.0.1' }
  if (facts.kind === 'linux') return { listen: facts.gateway, host: facts.gateway }
  throw cannotEnforce(mode, facts.why)
}

async function ensureNetImage(image: string, notify: (line: string) => void): Promise<void> {
  if (await imageExists(image)) return
  if (image !== DEFAULT_NET_IMAGE) throw new UserError(`network image '${image}' not found — build it, or unset REALM_NET_IMAGE`)
  notify(`realm: building ${DEFAULT_NET_IMAGE} from ${path.join(dockerDir(), 'net')} (first run only)…`)
  await buildImage(DEFAULT_NET_IMAGE, path.join(dockerDir(), 'net'))
}

export async function openEgress(options: EgressOptions): Promise<Egress> {
  const env = options.env ?? process.env
  const { mode } = options
  const image = netImage(env)
  const imageReady = enforces(mode) ? ensureNetImage(image, options.notify) : Promise.resolve()
  imageReady.catch(() => undefined) // awaited below
  const facts = await engineFacts()
  if (facts.kind === 'unsupported' && enforces(mode)) throw cannotEnforce(mode, facts.why)
  const where = addresses(facts, mode)

  const listeners: Listening[] = []
  const sidecars: Sidecar[] = []
  const joining: Array<Promise<unknown>> = []
  const proxyBlocked: BlockedAttempt[] = []
  const close = async () => {
    await Promise.all(joining.map((j) => j.catch(() => undefined)))
    await Promise.all(sidecars.map((s) => s.stop()))
    await Promise.all(listeners.map((l) => l.close()))
  }
  try {
    const brokerToken = token()
    const broker = await startBroker({
      listen: where.listen,
      token: brokerToken,
      upstream: env.ANTHROPIC_BASE_URL || DEFAULT_UPSTREAM,
      credentials: hostCredentials(env),
    })
    listeners.push(broker)
    // The agent's own requests to the broker may come through the proxy (a client that ignores NO_PROXY).
    const own: Array<{ host: string; port: number }> = []
    const secretEnv: Record<string, string> = {}
    const host = where.host
    const dockerArgs: string[] = []
    let join: Egress['join']
    if (enforces(mode)) {
      const proxyToken = token()
      const proxy = await startProxy({
        listen: where.listen,
        token: proxyToken,
        allow: options.allow,
        own,
        onBlocked: (attempt) => {
          proxyBlocked.push(attempt)
          trace(`blocked ${attempt.destination}`)
        },
      })
      listeners.push(proxy)
      await imageReady
      join = async (container, gone) => {
        const started = startSidecar(
          {
            name: `realm-net-${randomBytes(4).toString('hex')}`,
            image,
            netDir: path.join(dockerDir(), 'net'),
            host: where.host,
            ports: [proxy.port, broker.port],
            target: container,
          },
          gone,
        )
        joining.push(started)
        const sidecar = await started
        if (sidecar) sidecars.push(sidecar)
        return sidecar !== undefined
      }
      own.push({ host, port: broker.port })
      const url = proxyUrl(host, proxy.port, proxyToken)
      for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) secretEnv[name] = url
      // The agent's container holds the namespace, on the default bridge, and the sidecar joins it. No IPv6 in
      // it at all: a link-local address would reach the host (the sidecar's rules also close IPv6). No NET_RAW:
      // a packet socket would go around the sidecar's rules. NET_ADMIN is not Docker's default, and dropping it
      // again costs nothing.
      dockerArgs.push(
        '--network',
        'bridge',
        '--sysctl',
        'net.ipv6.conf.all.disable_ipv6=1',
        '--sysctl',
        'net.ipv6.conf.default.disable_ipv6=1',
        '--cap-drop',
        'NET_RAW',
        '--cap-drop',
        'NET_ADMIN',
      )
      // Docker Desktop: the name comes from the hosts file, which the sidecar shares, not from DNS, which the
      // rules close (the sidecar resolves it once, for its rules; the agent's tools by name, as the URLs say).
      if (facts.kind === 'desktop') dockerArgs.push('--add-host', `${DESKTOP_HOST}:host-gateway`)
    } else if (mode === 'host') {
      dockerArgs.push('--network', 'host')
    }
    secretEnv.ANTHROPIC_BASE_URL = brokerUrl(host, broker.port, brokerToken)
    const placeholders = Object.fromEntries(CREDENTIAL_NAMES.filter((name) => env[name]).map((name) => [name, PLACEHOLDERS[name]]))
    const noProxy = ['localhost', '127.0.0.1', '::1', host].join(',')
    return {
      mode,
      dockerArgs,
      env: { ...placeholders, ...(enforces(mode) ? { NO_PROXY: noProxy, no_proxy: noProxy } : {}) },
      secretEnv,
      join,
      blocked: () => [...proxyBlocked, ...sidecars.flatMap((s) => s.blocked)],
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}
