// Standby sidecars. Starting a container with a network namespace of its own costs Docker a quarter of a
// second, the dearest step before the agent's; so each run under an enforcing policy leaves one sidecar started
// ahead for the next run, and a run takes one when there is one (docker exec of `firewall.sh claim` in it,
// a twentieth of a second), else starts its own.
//
// What keeps this as safe as a sidecar of the run's own: a standby is closed (loopback only) from its first
// moment; it serves one run only (the claim is a directory made in it, which only one realm can make, and it
// ends when that run ends); its rules are set by the same script, by the claim, from realm's line on the
// claim's stdin; the claim's stdin is realm's connection, so when realm ends or dies the rules close, the
// standby ends and Docker removes it with its namespace. A standby nobody claims ends by itself after
// STANDBY_SECONDS. Only a standby of the same image and the same firewall script is taken (its label).
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'

import { trace } from '../common/trace.js'
import {
  type Attached,
  createContainer,
  createExec,
  engineRequest,
  removeContainer,
  startContainer,
  startExec,
} from '../container/engine-api.js'
import { type Launched, launchedOn } from './sidecar.js'
import { NET_MOUNT, type SidecarPlan, sidecarSpec } from './sidecar-plan.js'
import { leaveHint, takeHint } from './standby-hint.js'

const LABEL = 'realm.net.standby'
/** How long a standby waits to be claimed: long enough for the next run of a working session. */
const STANDBY_SECONDS = 600
/** How long a claim may take to say whether it got the standby. */
const CLAIM_TIMEOUT_MS = 3000
/** What takes a standby: run in it by `docker exec`. */
const CLAIM = ['sh', `${NET_MOUNT}/firewall.sh`, 'claim']

/** Whether standbys are used: REALM_NET_STANDBY=0 turns them off (each run then starts its own sidecar). */
export function standbyEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.REALM_NET_STANDBY !== '0'
}

/** What a standby must match to be claimed: the same image, realm's same docker/net, the same script. */
export function standbyKey(plan: Pick<SidecarPlan, 'image' | 'netDir'>): string {
  const script = readFileSync(path.join(plan.netDir, 'firewall.sh'))
  return createHash('sha256').update(`${plan.image}\0${plan.netDir}\0`).update(script).digest('hex').slice(0, 32)
}

/** The ids of the running standbys of `key`. */
async function standbys(socket: string, key: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL}=${key}`], status: ['running'] }))
  const answer = await engineRequest(socket, 'GET', `/containers/json?filters=${filters}`, undefined, 3000)
  if (answer.status !== 200) return []
  const found = JSON.parse(answer.body) as unknown
  return Array.isArray(found) ? found.map((c) => (c as { Id?: unknown }).Id).filter((id): id is string => typeof id === 'string') : []
}

/**
 * Takes one of the running standbys of `key`, if there is one to take: its claim runs, and the claim's streams
 * are the sidecar's. `left`: how many other standbys of the key run, so that the caller starts a new one only
 * when none is left for the next run.
 */
export async function claimStandby(socket: string, key: string): Promise<{ launched?: Launched; left: number }> {
  // First the standby the last run of this $REALM_HOME left, its claim made ready (standby-hint.ts): taken, it
  // leaves none for the next run.
  const hint = takeHint(key)
  const hinted = hint && (await claimWith(socket, hint.container, () => startExec(socket, hint.exec)).catch(() => undefined))
  if (hinted) {
    trace('sidecar claimed')
    return { launched: hinted, left: 0 }
  }
  const found = await standbys(socket, key).catch(() => [] as string[])
  // In random order, so that realms that start together mostly try different ones.
  const order = found.map((id) => ({ id, at: Math.random() })).sort((a, b) => a.at - b.at)
  for (const [i, { id }] of order.entries()) {
    const launched = await claimOne(socket, id).catch(() => undefined)
    if (launched) {
      trace('sidecar claimed')
      return { launched, left: found.length - i - 1 }
    }
  }
  return { left: 0 }
}

async function claimOne(socket: string, id: string): Promise<Launched | undefined> {
  return claimWith(socket, id, async () => startExec(socket, await createExec(socket, id, CLAIM)))
}

/** The standby `id`, if its claim (`run`: the exec of CLAIM in it, started) says this realm got it. */
async function claimWith(socket: string, id: string, run: () => Promise<Attached>): Promise<Launched | undefined> {
  const exec = await run()
  const answer = await firstLine(exec.stdout, CLAIM_TIMEOUT_MS)
  if (answer !== 'claimed') {
    exec.connection.destroy()
    return undefined
  }
  return launchedOn(socket, id, exec)
}

/** The stream's first line (the rest stays in the stream), or undefined if it ends or is silent for `timeoutMs`. */
function firstLine(stream: Readable, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0)
    const finish = (line: string | undefined, rest?: Buffer) => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      clearTimeout(timer)
      stream.pause()
      if (rest?.length) stream.unshift(rest)
      resolve(line)
    }
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      const at = buffered.indexOf(10)
      if (at !== -1) finish(buffered.subarray(0, at).toString('utf8').trim(), buffered.subarray(at + 1))
      else if (buffered.length > 4096) finish(undefined)
    }
    const onEnd = () => finish(undefined)
    const timer = setTimeout(() => finish(undefined), timeoutMs)
    stream.on('data', onData)
    stream.on('end', onEnd)
  })
}

/**
 * Starts a standby of `key` for a later run; it is closed from its start. Best effort: errors are dropped, and it
 * never holds realm's exit up (a standby left created, never started, by a realm that ended first is removed by
 * a later run: sidecar.ts sweepStale).
 */
export async function startStandby(socket: string, plan: SidecarPlan, key: string): Promise<void> {
  const name = `realm-net-standby-${randomBytes(4).toString('hex')}`
  const spec = sidecarSpec(plan)
  const standby = {
    ...spec,
    Cmd: [`${NET_MOUNT}/firewall.sh`, 'standby', String(STANDBY_SECONDS)],
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    OpenStdin: false,
    StdinOnce: false,
    Labels: { [LABEL]: key },
  }
  try {
    await createContainer(socket, name, standby, true)
    await startContainer(socket, name, true)
    trace('standby started')
  } catch {
    await removeContainer(socket, name)
    return
  }
  // Its claim made ready for the next run (standby-hint.ts); without it, the next run finds it by asking.
  const exec = await createExec(socket, name, CLAIM, { background: true }).catch(() => undefined)
  if (exec) leaveHint({ key, container: name, exec })
}
