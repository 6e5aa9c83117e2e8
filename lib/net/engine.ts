// What realm needs to know about the engine to enforce a network policy, and so which way it does: the one choice
// of the network's path. A local rootful Docker engine's containers reach realm's process on the host at the
// default bridge's gateway (the bridge path: sidecar.ts). Anywhere else (a remote engine, rootless Docker, Podman,
// a bridge with no gateway) the agent's namespace gets no route out at all, and realm's proxy and broker are
// reached through a relay over realm's own connection to the engine (the relay path: relay-sidecar.ts);
// REALM_NET_PATH=relay takes it on any engine. Asked on the engine's socket when realm can (milliseconds), else
// through the engine's CLI.
import os from 'node:os'

import { UserError } from '../common/errors.js'
import { runProgram } from '../common/spawn.js'
import { engineProgram } from '../container/engine-cli.js'
import { engineRequest, engineSocket } from '../container/engine-api.js'
import { engineKind } from '../container/engine-kind.js'
import { type PodmanFacts, podmanFacts } from './podman-network.js'

export type EngineFacts =
  /** a Linux engine: containers on the default bridge reach the host at the bridge's gateway address */
  | { kind: 'linux'; gateway: string }
  /** Docker Desktop: the engine runs in a VM; containers reach the host's loopback at host.docker.internal */
  | { kind: 'desktop' }
  /** no route out of the agent's namespace; realm reached through the relay over the engine's connection (why) */
  | {
      kind: 'relay'
      why: string
      gateway?: string
      /**
       * a rootless engine: its containers reach this machine only through its user-mode network stack, at this
       * machine's address on its default route (podman-network.ts), never its loopback
       */
      rootless?: boolean
    }
  /**
   * Podman, rootful or rootless (its CLI, or Docker's CLI on its socket): containers on slirp4netns reach the
   * host at its own address on the default route (podman-network.ts); the enforcing modes are refused there
   */
  | Extract<PodmanFacts, { kind: 'podman' }>
  | { kind: 'unsupported'; why: string }

async function getJson(socket: string, urlPath: string): Promise<unknown> {
  const answer = await engineRequest(socket, 'GET', urlPath, undefined, 3000)
  if (answer.status !== 200) throw new Error(`status ${answer.status}`)
  return JSON.parse(answer.body)
}

async function cliJson(args: string[]): Promise<unknown> {
  const result = await runProgram(engineProgram(), [...args, '--format', '{{json .}}'])
  if (result.exitCode !== 0) throw new Error(result.stderr.split('\n')[0] || result.error?.message || 'docker failed')
  return JSON.parse(result.stdout)
}

/** The parts of the engine's /info that matter here. */
export interface EngineInfo {
  SecurityOptions?: unknown
  OSType?: string
  OperatingSystem?: string
  /** false where the engine cannot put a pids limit in force (a rootless engine without cgroup v2) */
  PidsLimit?: boolean
}

/** The parts of the default bridge network (/networks/bridge) that matter here. */
export interface BridgeNetwork {
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null }
  Options?: Record<string, string> | null
}

/** The engine runs without root: its containers' root is the user who started it (SecurityOptions name=rootless). */
export function isRootless(info: EngineInfo | undefined): boolean {
  const options: unknown[] = Array.isArray(info?.SecurityOptions) ? info.SecurityOptions : []
  return options.some((o) => /name=rootless/.test(String(o)))
}

/**
 * Classifies the engine from its /info and its default bridge network (pure, for tests). `local`: realm asked it
 * on a socket of this machine (otherwise it is remote, or a context of its own, whose bridge's gateway need not
 * be this machine).
 */
export function classifyEngine(info: EngineInfo, bridge: BridgeNetwork, local = true): EngineFacts {
  if (info?.OSType && info.OSType !== 'linux') return { kind: 'unsupported', why: `the engine runs ${info.OSType} containers` }
  if (isRootless(info)) {
    return { kind: 'relay', why: "a rootless engine keeps its bridge in a namespace of its own, where realm's host is not", rootless: true }
  }
  if (/docker desktop/i.test(String(info?.OperatingSystem ?? ''))) return { kind: 'desktop' }
  if (!local) return { kind: 'relay', why: 'the engine is not on a socket of this machine' }
  const gateway = bridgeGateway(bridge)
  if (!gateway) return { kind: 'relay', why: "the engine's default bridge network has no IPv4 gateway" }
  return { kind: 'linux', gateway }
}

/** REALM_NET_PATH=relay: the relay path on any engine (the bridge path is never forced: it cannot work on all). */
export function relayForced(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.REALM_NET_PATH
  if (!value) return false
  if (value === 'relay') return true
  throw new UserError(`REALM_NET_PATH must be 'relay' or unset, not '${value}'`)
}

const IPV4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/

/**
 * The bridge's gateway: as configured, else the address of the bridge's interface on this machine, else the
 * first address of its subnet (which is what Docker gives the default bridge, whose IPAM names no gateway).
 */
function bridgeGateway(bridge: BridgeNetwork, interfaces = os.networkInterfaces()): string | undefined {
  const configs = Array.isArray(bridge?.IPAM?.Config) ? bridge.IPAM.Config : []
  const configured = configs.map((c) => c?.Gateway).find((g) => typeof g === 'string' && IPV4.test(g))
  if (configured) return configured
  const name = bridge?.Options?.['com.docker.network.bridge.name']
  const own = typeof name === 'string' ? interfaces[name]?.find((i) => i.family === 'IPv4')?.address : undefined
  if (own) return own
  const subnet = configs.map((c) => /^(\d+\.\d+\.\d+\.)(\d+)\/(\d+)$/.exec(String(c?.Subnet ?? ''))).find(Boolean)
  return subnet ? `${subnet[1]}${Number(subnet[2]) + 1}` : undefined
}

export async function engineFacts(env: NodeJS.ProcessEnv = process.env): Promise<EngineFacts> {
  const facts = await askedFacts(env)
  // Forced, the bridge's gateway is still known to the modes that do not enforce (the broker listens there).
  if (relayForced(env) && facts.kind === 'linux') return { kind: 'relay', why: 'REALM_NET_PATH=relay', gateway: facts.gateway }
  return facts
}

async function askedFacts(env: NodeJS.ProcessEnv): Promise<EngineFacts> {
  // Podman's /info looks like Docker's, down to a rootless one's; its CLI, or its socket's /version, tells.
  const kind = await engineKind(env)
  if (kind.engine === 'podman') return podmanFacts(kind.rootless)
  const socket = engineSocket(env)
  try {
    if (socket) {
      const [info, bridge] = await Promise.all([getJson(socket, '/info'), getJson(socket, '/networks/bridge')])
      remember(info as EngineInfo)
      return classifyEngine(info as EngineInfo, bridge as BridgeNetwork)
    }
  } catch {
    // fall through to the CLI, which says what is wrong in its own words
  }
  try {
    const [info, bridge] = await Promise.all([cliJson(['info']), cliJson(['network', 'inspect', 'bridge']).catch(() => ({}))])
    remember(info as EngineInfo)
    return classifyEngine(info as EngineInfo, (Array.isArray(bridge) ? bridge[0] : bridge) as BridgeNetwork, socket !== undefined)
  } catch (error) {
    return { kind: 'unsupported', why: `cannot ask the engine about its network (${(error as Error).message})` }
  }
}

let info: Promise<EngineInfo | undefined> | undefined

/** The network's facts were asked first (they are, early in a run): their /info serves engineInfo too. */
function remember(answer: EngineInfo): void {
  info ??= Promise.resolve(answer)
}

/**
 * The Docker engine's /info (asked once per process: a command talks to one engine), or undefined when it cannot
 * be asked, or the engine is Podman, whose /info reads otherwise (the run then goes as on a rootful engine).
 */
export function engineInfo(env: NodeJS.ProcessEnv = process.env): Promise<EngineInfo | undefined> {
  info ??= askInfo(env).catch(() => undefined)
  return info
}

async function askInfo(env: NodeJS.ProcessEnv): Promise<EngineInfo | undefined> {
  if ((await engineKind(env)).engine === 'podman') return undefined
  const socket = engineSocket(env)
  if (socket) {
    const answer = await getJson(socket, '/info').catch(() => undefined)
    if (answer) return answer as EngineInfo
  }
  return (await cliJson(['info'])) as EngineInfo
}
