// The network sidecar's run (what it is: sidecar-plan.ts). It starts as soon as realm knows it will run an agent
// under an enforcing policy (net/start.ts starts the network before the CLI is even loaded), so its start
// overlaps realm's own checks; the agent's container then joins its network namespace, and the agent itself
// starts only once the sidecar says its rules are in place (run/run.ts writes the marker the entrypoint waits
// for). The sidecar's stdin comes from realm: closed when the run ends, or when realm dies, which ends the
// sidecar too (it is removed on exit). Every connection it blocks comes back on its stdout, one tcpdump line
// each, parsed here into what the user is told.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import type { Readable, Writable } from 'node:stream'

import { UserError } from '../common/errors.js'
import { engineProgram } from '../container/engine-cli.js'
import { dockerDir } from '../common/paths.js'
import { trace } from '../common/trace.js'
import { type BlockedAttempt, shown } from './report.js'
import {
  type Attached,
  attachContainer,
  createContainer,
  engineRequest,
  engineSocket,
  removeContainer,
  startContainer,
} from '../container/engine-api.js'
import { planSidecar, type SidecarPlan, sidecarSpec } from './sidecar-plan.js'

let defaultImage: string | undefined

/**
 * realm's own sidecar image, built from docker/net on first use: tagged with a hash of what it is built from
 * (its Dockerfile and realm-relay's source), so that a realm whose relay changed never runs an older one.
 */
export function defaultNetImage(): string {
  if (!defaultImage) {
    const hash = createHash('sha256')
    for (const file of ['Dockerfile', 'relay.c']) hash.update(readFileSync(path.join(dockerDir(), 'net', file)))
    defaultImage = `realm-net:${hash.digest('hex').slice(0, 12)}`
  }
  return defaultImage
}

export function netImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.REALM_NET_IMAGE || defaultNetImage()
}

/**
 * A new sidecar of this realm's: a name of its own, the image REALM_NET_IMAGE names, realm's docker/net; `relay`:
 * a relay sidecar (relay-plan.ts) rather than one on the bridge.
 */
export function newSidecarPlan(env: NodeJS.ProcessEnv = process.env, relay = false): SidecarPlan {
  return { name: `realm-net-${randomBytes(4).toString('hex')}`, image: netImage(env), netDir: path.join(dockerDir(), 'net'), relay }
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
  const shown = address.includes(':') ? `[${address}]` : address
  // Any packet to port 53 is a lookup of the agent's own (by name when tcpdump could read one): DNS stays closed,
  // whatever the resolver, and no advice opens it.
  if (port === '53') {
    const name = query && NAME.test(query[1]) && query[1].length <= 253 ? query[1].toLowerCase() : undefined
    return { destination: name ?? `${shown}:53`, reason: 'dns' }
  }
  return { destination: `${shown}:${port}`, reason: 'bypass' }
}

export interface Sidecar {
  name: string
  /** Resolves once the sidecar's rules are in place; rejects with the run's refusal when they cannot be. */
  ready: Promise<void>
  /** what the sidecar blocked so far */
  blocked: BlockedAttempt[]
  /** Ends the sidecar: closes its stdin, after which it closes realm's ports and goes (the engine removes it). */
  stop(): Promise<void>
}

/** A started sidecar, whichever way it was started; it waits for its rules' line on stdin. */
export interface Launched {
  name: string
  /** true: it runs, so a container can join its namespace; false (the docker CLI's way): only its "ready" says so */
  running: boolean
  stdout: Readable
  stderr: Readable
  exited: Promise<unknown>
  /** writes to its stdin */
  write(line: string): void
  /** ends its stdin: the sidecar closes realm's ports too, and ends */
  end(): void
  /** ends it outright */
  kill(): Promise<void>
  /** lets realm exit without waiting for it */
  unref(): void
  /** a relay sidecar's: starts realm-relay in it, listening on `ports` (relay-sidecar.ts) */
  startRelay?: (ports: number[]) => Promise<RelayStreams>
  /** whether the agent's container must join the sidecar's user namespace too (rootless Podman's keep-id) */
  sharedUserns?: boolean
}

/** The streams of realm-relay in a sidecar: its frames come on `fromRelay`, realm's go on `toRelay`. */
export interface RelayStreams {
  fromRelay: Readable
  toRelay: Writable
  stderr: Readable
  /** From now on the relay does not keep realm running (realm's exit ends its stream, and the relay with it). */
  unref(): void
}

/**
 * Through the engine's socket: created, attached to (so that no line is lost), started. `spec`: the container
 * (a bridge sidecar's by default; relay-sidecar.ts gives its own).
 */
export async function launchOnSocket(socket: string, plan: SidecarPlan, spec = sidecarSpec(plan)): Promise<Launched> {
  await createContainer(socket, plan.name, spec)
  let attached: Attached | undefined
  try {
    attached = await attachContainer(socket, plan.name)
    await startContainer(socket, plan.name)
  } catch (error) {
    attached?.connection.destroy()
    await removeContainer(socket, plan.name)
    throw error
  }
  return launchedOn(socket, plan.name, attached)
}

/**
 * A running sidecar `container` whose streams realm holds on the engine's socket (its attach, or a standby's
 * claim): the connection's end is its stdin's end; killing it removes the container.
 */
export function launchedOn(socket: string, container: string, { stdout, stderr, connection }: Attached): Launched {
  return {
    name: container,
    running: true,
    stdout,
    stderr,
    exited: new Promise((resolve) => connection.once('close', resolve)),
    write: (line) => connection.write(line),
    end: () => connection.end(),
    kill: () => removeContainer(socket, container),
    unref: () => connection.unref(),
  }
}

/**
 * Through the docker CLI (a remote engine, a context of its own): `docker run -i` (or `argv`, a `docker start -ai`),
 * its stdin a pipe from realm.
 */
export function launchWithCli(plan: SidecarPlan, argv = planSidecar(plan)): Launched {
  const child = spawn(engineProgram(), argv, { stdio: ['pipe', 'pipe', 'pipe'] })
  // An error here means it is gone already; its exit says so.
  child.stdin.on('error', () => undefined)
  const exited = new Promise((resolve) => {
    child.once('exit', resolve)
    child.once('error', resolve)
  })
  return {
    name: plan.name,
    running: false,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    write: (line) => child.stdin.write(line),
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

/** How old a sidecar that never started must be to be someone's leftover: starting one takes milliseconds. */
const STALE_SECONDS = 60

/**
 * Removes sidecars that were created but never started: a realm killed between the two leaves one, which the
 * engine does not remove by itself (it removes a sidecar when it ends, and this one never began). Best effort,
 * in the background of a run.
 */
export async function sweepStale(socket: string, olderThanSeconds = STALE_SECONDS): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ name: ['realm-net-'], status: ['created'] }))
  const answer = await engineRequest(socket, 'GET', `/containers/json?all=1&filters=${filters}`, undefined, 5000, true).catch(
    () => undefined,
  )
  if (answer?.status !== 200) return
  let found: Array<{ Id?: unknown; Names?: unknown; Created?: unknown }> = []
  try {
    found = JSON.parse(answer.body)
  } catch {
    return
  }
  const now = Date.now() / 1000
  for (const container of Array.isArray(found) ? found : []) {
    const names = Array.isArray(container.Names) ? container.Names.map(String) : []
    // The engine's name filter matches anywhere in the name: only realm's own are taken.
    if (!names.some((n) => n.startsWith('/realm-net-')) || typeof container.Id !== 'string') continue
    if (typeof container.Created !== 'number' || now - container.Created < olderThanSeconds) continue
    await removeContainer(socket, container.Id)
  }
}

export function refused(why: string, said = ''): UserError {
  return new UserError(
    `the network policy cannot be enforced on this engine: the sidecar ${why}${said ? ` (${said.trim()})` : ''} — ` +
      'run with --network open to accept an open network, or see TROUBLESHOOTING.md',
  )
}

/**
 * Starts the sidecar, without its rules yet: they name realm's ports, which need not be known this early (see
 * net/start.ts). Rejects with the run's refusal when it cannot start.
 */
export async function launchSidecar(plan: SidecarPlan): Promise<Launched> {
  trace('sidecar starting')
  const socket = engineSocket()
  try {
    const launched = socket ? await launchOnSocket(socket, plan) : launchWithCli(plan)
    trace('sidecar started')
    return launched
  } catch (error) {
    throw refused('could not start', (error as Error).message)
  }
}

/**
 * Gives a launched sidecar its rules (realm's address as the container sees it, and the ports of the proxy and
 * the broker: one line on its stdin), then reads its lines: first its "ready", then one per blocked attempt.
 */
export function configureSidecar(launched: Launched, host: string, ports: number[], timeoutMs = 60_000): Sidecar {
  const blocked: BlockedAttempt[] = []
  const own = new Set<string>()
  let stderr = ''
  launched.stderr.setEncoding('utf8')
  launched.stderr.on('data', (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk
  })
  let settled = false
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail('gave no answer in time'), timeoutMs)
    const fail = (why: string) => {
      if (settled) return
      settled = true
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
      if (!settled) {
        if (!/^ready\b/.test(line)) return
        const address = line.split(' ')[1] ?? host
        for (const port of ports) own.add(`${address}:${port}`)
        settled = true
        clearTimeout(timer)
        // From now on the sidecar does not keep realm running; realm's exit closes its stdin, which ends it.
        launched.unref()
        resolve()
        return
      }
      const attempt = parseBlockedLine(line)
      // realm's own ports are open while the run lasts: a packet to them stopped here is a connection of the
      // proxy's or the broker's closing after the sidecar closed them as the run ended, not the agent's doing.
      if (!attempt || blocked.length >= MAX_ATTEMPTS || own.has(attempt.destination)) return
      blocked.push(attempt)
      trace(`blocked ${shown(attempt)}`)
    })
  })
  ready.catch(() => undefined) // the run awaits it; a failure before then is reported there
  launched.write(`${host} ${ports.join(' ')}\n`)
  // Not waited for: the run is over, every attempt has been reported as it happened, and the sidecar's own exit
  // (closing realm's ports, then the engine removing it) would only hold realm's exit up by a tenth of a second.
  const stop = async () => {
    if (!settled) await launched.kill()
    else launched.end()
  }
  return { name: launched.name, ready, blocked, stop }
}
