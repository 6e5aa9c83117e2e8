// A relay sidecar's run (what it is: relay-plan.ts). Started like a bridge sidecar (sidecar.ts): on the
// engine's socket when realm has one (docker/net mounted), else through the docker CLI, with realm's firewall.sh
// copied in before its start (the engine may be another machine's); then realm-relay runs in it (an exec, as nobody) once realm's proxy and broker listen, and realm's end
// (relay.ts) carries each connection the agent opens to 127.0.0.1:<port> to them. The run's sidecar is ready
// when both are: its rules in place, and the relay listening.
import { spawn } from 'node:child_process'

import { UserError } from '../common/errors.js'
import { trace } from '../common/trace.js'
import { engineProgram } from '../container/engine-cli.js'
import { planFor } from '../container/engine-dialect.js'
import { engineKind, hostLimits } from '../container/engine-kind.js'
import { type Attached, engineSocket, execInContainer } from '../container/engine-api.js'
import { runProgram } from '../common/spawn.js'
import { serveRelay } from './relay.js'
import { planRelay, planRelaySidecar, RELAY_PROGRAM, RELAY_USER, relayFiles, relaySidecarSpec } from './relay-plan.js'
import { type Launched, launchOnSocket, launchWithCli, refused, type RelayStreams, type Sidecar } from './sidecar.js'
import type { SidecarPlan } from './sidecar-plan.js'

/** realm-relay over the engine's socket: an exec whose hijacked connection carries realm's frames both ways. */
async function relayOnSocket(socket: string, name: string, ports: number[]): Promise<RelayStreams> {
  const exec: Attached = await execInContainer(socket, name, [RELAY_PROGRAM, ...ports.map(String)], RELAY_USER)
  return { fromRelay: exec.stdout, toRelay: exec.connection, stderr: exec.stderr, unref: () => exec.connection.unref() }
}

/** realm-relay through the docker CLI: `docker exec -i`, its stdin and stdout pipes of realm's. */
async function relayWithCli(name: string, ports: number[]): Promise<RelayStreams> {
  const child = spawn(engineProgram(), planRelay(name, ports), { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.on('error', () => undefined) // its end shows on stdout
  child.once('error', () => child.stdout.destroy())
  const unref = () => {
    child.unref()
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.()
  }
  return { fromRelay: child.stdout, toRelay: child.stdin, stderr: child.stderr, unref }
}

async function launchRelayOnSocket(socket: string, plan: SidecarPlan): Promise<Launched> {
  // An engine on a socket of this machine sees realm's paths: docker/net is mounted, as for a bridge sidecar (a
  // copy into a created container costs the engine a mount of its filesystem: a third of a second under load).
  const engine = planFor(await engineKind(), hostLimits())
  const launched = await launchOnSocket(socket, plan, relaySidecarSpec(plan, true, engine.ulimits))
  return { ...launched, startRelay: (ports) => relayOnSocket(socket, plan.name, ports) }
}

async function launchWithCliSteps(plan: SidecarPlan): Promise<Launched> {
  const engine = planFor(await engineKind(), hostLimits())
  const steps = planRelaySidecar(plan, [...engine.extra, ...engine.sidecarArgs])
  const created = await runProgram(engineProgram(), steps.create)
  if (created.exitCode !== 0) throw new Error(created.stderr.split('\n')[0] || 'docker create failed')
  const copied = await runProgram(engineProgram(), steps.copy, { input: relayFiles(plan) })
  if (copied.exitCode !== 0) {
    await runProgram(engineProgram(), ['rm', '-f', plan.name])
    throw new Error(copied.stderr.split('\n')[0] || 'docker cp failed')
  }
  return {
    ...launchWithCli(plan, steps.start),
    startRelay: (ports) => relayWithCli(plan.name, ports),
    sharedUserns: engine.sidecarArgs.length > 0,
  }
}

/** Starts a relay sidecar, without its relay yet (that needs realm's ports); rejects with the run's refusal. */
export async function launchRelaySidecar(plan: SidecarPlan): Promise<Launched> {
  trace('sidecar starting (relay)')
  const socket = engineSocket()
  try {
    const launched = socket ? await launchRelayOnSocket(socket, plan) : await launchWithCliSteps(plan)
    trace('sidecar started')
    return launched
  } catch (error) {
    throw refused('could not start', (error as Error).message)
  }
}

/**
 * Runs realm-relay in the configured relay sidecar `sidecar` (once it runs) for realm's `ports`, served by realm's
 * end; the sidecar returned is ready when the rules are in place and the relay listens, and its stop ends both.
 * `notify`: told in one line should the relay be cut off during the run (the agent then has no way out).
 */
export function withRelay(launched: Launched, sidecar: Sidecar, ports: number[], notify?: (line: string) => void): Sidecar {
  let stderr = ''
  let end: ReturnType<typeof serveRelay> | undefined
  const listening = (async () => {
    if (!launched.running) await sidecar.ready
    const streams = await launched.startRelay?.(ports)
    if (!streams) throw new Error('the sidecar has no relay')
    streams.stderr.setEncoding('utf8')
    streams.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4000) stderr += chunk
    })
    end = serveRelay(streams.fromRelay, streams.toRelay, ports)
    let listened = false
    void end.done.then((why) => {
      trace(`relay ended${why ? `: ${why}` : ''}`)
      // Before it listened, the run's refusal says why (below).
      if (why && listened)
        notify?.(`realm: ${why} — the agent has no network for the rest of this run; run again, or see TROUBLESHOOTING.md`)
    })
    await end.ready
    listened = true
    // As the bridge's sidecar once its rules are in place (sidecar.ts): a command that fails before its run
    // must not be held open by a relay it will never use.
    streams.unref()
    trace('relay listening')
  })()
  const ready = Promise.all([sidecar.ready, listening]).then(
    () => undefined,
    async (error: unknown) => {
      await launched.kill()
      if (error instanceof UserError) throw error
      throw refused('could not start its relay', stderr.split('\n').find((l) => l.trim()) ?? (error as Error).message)
    },
  )
  ready.catch(() => undefined) // the run awaits it
  return {
    ...sidecar,
    ready,
    stop: async () => {
      end?.close()
      await sidecar.stop()
    },
  }
}
