// What realm needs to know about the Docker engine to enforce a network policy: whether it can (a rootless
// engine cannot: its bridge lives in a namespace of its own), and how a container reaches realm's process on
// the host (on a rootless engine: net/outward.ts). Asked on the engine's socket when realm can (milliseconds), else through the docker CLI.
import os from 'node:os'

import { runProgram } from '../common/spawn.js'
import { engineProgram } from '../container/engine-cli.js'
import { engineRequest, engineSocket } from '../container/engine-api.js'

export type EngineFacts =
  /** a Linux engine: containers on the default bridge reach the host at the bridge's gateway address */
  | { kind: 'linux'; gateway: string }
  /** Docker Desktop: the engine runs in a VM; containers reach the host's loopback at host.docker.internal */
  | { kind: 'desktop' }
  /**
   * a rootless engine: its containers live in a network namespace of the engine's own, which reaches this machine
   * through a user-mode network stack (slirp4netns) and where realm's rules cannot reach; `why` says so
   */
  | { kind: 'rootless'; why: string }
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

/** Classifies the engine from its /info and its default bridge network (pure, for tests). */
export function classifyEngine(info: EngineInfo, bridge: BridgeNetwork): EngineFacts {
  if (isRootless(info)) {
    return {
      kind: 'rootless',
      why: "a rootless Docker engine keeps its bridge in a namespace of its own, where realm's rules cannot reach the host",
    }
  }
  if (info?.OSType && info.OSType !== 'linux') return { kind: 'unsupported', why: `the engine runs ${info.OSType} containers` }
  if (/docker desktop/i.test(String(info?.OperatingSystem ?? ''))) return { kind: 'desktop' }
  const gateway = bridgeGateway(bridge)
  if (!gateway) return { kind: 'unsupported', why: "the engine's default bridge network has no IPv4 gateway" }
  return { kind: 'linux', gateway }
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

/** The engine's /info and default bridge network, asked once per process: a command talks to one engine. */
function askEngine(): Promise<{ info: EngineInfo; bridge: BridgeNetwork }> {
  asked ??= ask()
  return asked
}
let asked: Promise<{ info: EngineInfo; bridge: BridgeNetwork }> | undefined

async function ask(): Promise<{ info: EngineInfo; bridge: BridgeNetwork }> {
  const socket = engineSocket()
  try {
    if (socket) {
      const [info, bridge] = await Promise.all([getJson(socket, '/info'), getJson(socket, '/networks/bridge')])
      return { info: info as EngineInfo, bridge: bridge as BridgeNetwork }
    }
  } catch {
    // fall through to the CLI, which says what is wrong in its own words
  }
  const [info, bridge] = await Promise.all([cliJson(['info']), cliJson(['network', 'inspect', 'bridge'])])
  return { info: info as EngineInfo, bridge: (Array.isArray(bridge) ? bridge[0] : bridge) as BridgeNetwork }
}

export async function engineFacts(): Promise<EngineFacts> {
  try {
    const { info, bridge } = await askEngine()
    return classifyEngine(info, bridge)
  } catch (error) {
    return { kind: 'unsupported', why: `cannot ask the engine about its network (${(error as Error).message})` }
  }
}

/** The engine's /info, or undefined when it cannot be asked (the run then reports docker's own failure). */
export function engineInfo(): Promise<EngineInfo | undefined> {
  return askEngine().then(
    ({ info }) => info,
    () => undefined,
  )
}
