// The network sidecar's run (what it is: sidecar-plan.ts). It starts in the network namespace of the agent's
// container as soon as that container runs, while realm's entrypoint prepares the workspace there; the agent
// itself starts only once the sidecar says its rules are in place (run/run.ts writes the marker the entrypoint
// waits for). The sidecar's stdin comes from realm: closed when the run ends, or when realm dies, which ends the
// sidecar too (it is removed on exit). Every connection it blocks comes back on its stdout, one tcpdump line
// each, parsed here into what the user is told.
import { spawn } from 'node:child_process'
import readline from 'node:readline'
import type { Readable } from 'node:stream'

import { execa } from 'execa'

import { UserError } from '../common/errors.js'
import { trace } from '../common/trace.js'
import { engineSocket } from '../container/docker.js'
import type { BlockedAttempt } from './proxy.js'
import { attachContainer, containerRunning, createContainer, removeContainer, startContainer } from '../container/engine-api.js'
import { planSidecar, type SidecarPlan, sidecarSpec } from './sidecar-plan.js'

export const DEFAULT_NET_IMAGE = 'realm-net:latest'

export function netImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.REALM_NET_IMAGE || DEFAULT_NET_IMAGE
}

const NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i
/** Bounds what a hostile agent can make realm hold: it chooses how many attempts there are, and the DNS names. */
const MAX_ATTEMPTS = 10_000

/**
 * One tcpdump line (`... IP 172.17.0.2.41234 > 10.0.0.5.5432: Flags [S], ...` or, for a DNS query,
 * `... > 8.8.8.8.53: 4242+ A? example.com. (29)`) as an attempt, or undefined for anything else.
 */
export function parseBlockedLine(line: string): BlockedAttempt | undefined {
  if (line.length > 2000) return undefined
  const match = /\bIP6? (\S+) > (\S+?)\.(\d+): (.*)$/.exec(line)
  if (!match) return undefined
  const [, , address, port, rest] = match
  // A reset is the sidecar's own answer to a blocked connection, not an attempt.
  if (/Flags \[R/.test(rest)) return undefined
  if (!/^[0-9a-f.:]+$/i.test(address)) return undefined
  const query = / (?:A|AAAA|ANY|CNAME|TXT|MX|SRV|HTTPS)\? (\S+?)\.? /.exec(` ${rest} `)
  if (port === '53' && query && NAME.test(query[1]) && query[1].length <= 253) {
    const name = query[1].toLowerCase()
    return { destination: `${name} (DNS)`, allow: name, why: 'a DNS lookup: only the proxy resolves names' }
  }
  const shown = address.includes(':') ? `[${address}]` : address
  return {
    destination: `${shown}:${port}`,
    allow: `${shown}:${port}`,
    why: 'a direct connection: only the proxy and the broker are reachable',
  }
}

export interface Sidecar {
  name: string
  /** what the sidecar blocked so far */
  blocked: BlockedAttempt[]
  /** Ends the sidecar: closes its stdin, after which it closes realm's ports and goes (the engine removes it). */
  stop(): Promise<void>
}

/** A started sidecar's streams, whichever way it was started. */
interface Launched {
  stdout: Readable
  stderr: Readable
  exited: Promise<unknown>
  /** ends its stdin: the sidecar closes realm's ports too, and ends */
  end(): void
  /** ends it outright */
  kill(): Promise<void>
  /** lets realm exit without waiting for it */
  unref(): void
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits until the agent's container runs (a sidecar can join only a running container's namespace): 'gone' when
 * `gone` settles first (the container ended, or docker never started it), 'late' at the deadline.
 */
async function whenRunning(
  running: () => Promise<boolean | undefined>,
  gone: Promise<unknown>,
  deadline: number,
): Promise<'running' | 'gone' | 'late'> {
  let over = false
  const end = () => {
    over = true
  }
  void gone.then(end, end)
  while (!over) {
    if (Date.now() > deadline) return 'late'
    if (await running().catch(() => undefined)) return 'running'
    await sleep(10)
  }
  return 'gone'
}

/**
 * Through the engine's socket: the sidecar is created and attached while the agent's container starts, then
 * started the moment that container runs. An engine that will not create a container for a namespace that does
 * not run yet gets it created then.
 */
async function launchOnSocket(
  socket: string,
  plan: SidecarPlan,
  gone: Promise<unknown>,
  deadline: number,
): Promise<Launched | 'gone' | 'late'> {
  const spec = sidecarSpec(plan)
  const early = createContainer(socket, plan.name, spec)
    .then(() => attachContainer(socket, plan.name))
    .catch(() => undefined)
  const state = await whenRunning(() => containerRunning(socket, plan.target), gone, deadline)
  let attached = await early
  const discard = async () => {
    attached?.connection.destroy()
    await removeContainer(socket, plan.name)
  }
  if (state !== 'running') {
    await discard()
    return state
  }
  trace('agent container running')
  try {
    if (!attached) {
      await removeContainer(socket, plan.name)
      await createContainer(socket, plan.name, spec)
      attached = await attachContainer(socket, plan.name)
    }
    await startContainer(socket, plan.name)
    trace('sidecar started')
  } catch (error) {
    await discard()
    throw error
  }
  const { stdout, stderr, connection } = attached
  const exited = new Promise((resolve) => connection.once('close', resolve))
  return {
    stdout,
    stderr,
    exited,
    end: () => connection.end(),
    kill: () => removeContainer(socket, plan.name),
    unref: () => connection.unref(),
  }
}

/** Through the docker CLI (a remote engine, a context of its own): `docker run -i`, its stdin a pipe from realm. */
async function launchWithCli(plan: SidecarPlan, gone: Promise<unknown>, deadline: number): Promise<Launched | 'gone' | 'late'> {
  const running = async () => {
    const result = await execa('docker', ['inspect', '--format', '{{.State.Running}}', plan.target], { reject: false })
    return result.exitCode === 0 ? result.stdout.trim() === 'true' : undefined
  }
  const state = await whenRunning(running, gone, deadline)
  if (state !== 'running') return state
  const child = spawn('docker', planSidecar(plan), { stdio: ['pipe', 'pipe', 'pipe'] })
  // realm never writes to the sidecar; the pipe's end is the signal. An error here means it is gone already.
  child.stdin.on('error', () => undefined)
  const exited = new Promise((resolve) => {
    child.once('exit', resolve)
    child.once('error', resolve)
  })
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    end: () => child.stdin.end(),
    kill: async () => {
      child.kill('SIGTERM')
    },
    unref: () => {
      child.unref()
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.()
    },
  }
}

function refused(why: string, said = ''): UserError {
  return new UserError(
    `the network policy cannot be enforced on this engine: the sidecar ${why}${said ? ` (${said.trim()})` : ''} — ` +
      'run with --network open to accept an open network, or see TROUBLESHOOTING.md',
  )
}

/**
 * Starts the sidecar in the namespace of the agent's container once that runs, and resolves once its rules are
 * in place; undefined when the container went first (docker's own failure, which the run reports). A sidecar
 * that cannot close the network refuses the run.
 */
export async function startSidecar(plan: SidecarPlan, gone: Promise<unknown>, timeoutMs = 60_000): Promise<Sidecar | undefined> {
  const deadline = Date.now() + timeoutMs
  const socket = engineSocket()
  let launched: Launched | 'gone' | 'late'
  try {
    launched = socket ? await launchOnSocket(socket, plan, gone, deadline) : await launchWithCli(plan, gone, deadline)
  } catch (error) {
    throw refused('could not start', (error as Error).message)
  }
  if (launched === 'gone') return undefined
  if (launched === 'late') throw refused(`could not start: the agent's container did not run within ${timeoutMs / 1000} s`)
  return whenReady(plan.name, launched, deadline)
}

function whenReady(name: string, launched: Launched, deadline: number): Promise<Sidecar> {
  const blocked: BlockedAttempt[] = []
  let stderr = ''
  launched.stderr.setEncoding('utf8')
  launched.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk
  })
  // Not waited for: the run is over, every attempt has been reported as it happened, and the sidecar's own exit
  // (closing realm's ports, then the engine removing it) would only hold realm's exit up by a tenth of a second.
  const stop = async () => launched.end()
  return new Promise<Sidecar>((resolve, reject) => {
    let ready = false
    const timer = setTimeout(() => fail('gave no answer in time'), Math.max(0, deadline - Date.now()))
    const fail = (why: string) => {
      if (ready) return
      ready = true
      clearTimeout(timer)
      void launched.kill()
      reject(
        refused(
          why,
          stderr.split('\n').find((l) => l.trim() && !/^(tcpdump|listening on)/.test(l)),
        ),
      )
    }
    void launched.exited.then(() => fail('ended before closing the network'))
    readline.createInterface({ input: launched.stdout }).on('line', (line) => {
      if (!ready) {
        if (!/^ready\b/.test(line)) return
        ready = true
        clearTimeout(timer)
        // From now on the sidecar does not keep realm running; realm's exit closes its stdin, which ends it.
        launched.unref()
        resolve({ name, blocked, stop })
        return
      }
      const attempt = parseBlockedLine(line)
      if (!attempt || blocked.length >= MAX_ATTEMPTS) return
      blocked.push(attempt)
      trace(`blocked ${attempt.destination}`)
    })
  })
}
