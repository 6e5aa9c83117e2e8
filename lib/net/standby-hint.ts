// Which standby sidecar (standby.ts) the run that started it left for the next run of the same $REALM_HOME, with
// the claim's `docker exec` already made in it: the next run starts that exec at once, where it would otherwise
// first ask the engine for its standbys, then make the exec; two requests fewer on the way to the agent's
// container, on an engine that may be slow to answer. A hint only saves time: the claim itself still decides
// (firewall.sh claim: one realm only), and a hint that is stale, taken or wrong leads to the usual way.
// The file is realm's own, in its private home; each run takes it away before it uses it, so that two runs
// never start the same exec.
import fs from 'node:fs'
import path from 'node:path'

import { realmHome } from '../common/paths.js'

export interface StandbyHint {
  /** standby.ts's key of the standby: what it must match to be claimed */
  key: string
  /** the standby's container */
  container: string
  /** the claim's exec, made in it, not yet started */
  exec: string
}

const ID = /^[A-Za-z0-9_.-]{1,128}$/

function hintFile(env: NodeJS.ProcessEnv): string {
  return path.join(realmHome(env), 'net-standby')
}

/** Leaves `hint` for the next run; best effort (no home yet, a full disk: the next run asks the engine). */
export function leaveHint(hint: StandbyHint, env: NodeJS.ProcessEnv = process.env): void {
  const file = hintFile(env)
  const temp = `${file}.${process.pid}.new`
  try {
    // Whole or not at all; no fsync: a hint lost in a crash costs the next run two requests.
    fs.writeFileSync(temp, JSON.stringify(hint), { flag: 'wx', mode: 0o600 })
    fs.renameSync(temp, file)
  } catch {
    fs.rmSync(temp, { force: true })
  }
}

/** Takes the hint left for a standby of `key`, if there is one: it is gone for every other run from then on. */
export function takeHint(key: string, env: NodeJS.ProcessEnv = process.env): StandbyHint | undefined {
  const file = hintFile(env)
  const taken = `${file}.${process.pid}`
  try {
    fs.renameSync(file, taken)
  } catch {
    return undefined
  }
  try {
    const fd = fs.openSync(taken, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    let text: string
    try {
      text = fs.fstatSync(fd).size <= 4096 ? fs.readFileSync(fd, 'utf8') : ''
    } finally {
      fs.closeSync(fd)
    }
    const { container, exec, key: its } = JSON.parse(text) as Record<string, unknown>
    if (its !== key || typeof container !== 'string' || typeof exec !== 'string' || !ID.test(container) || !ID.test(exec)) return undefined
    return { key, container, exec }
  } catch {
    return undefined
  } finally {
    fs.rmSync(taken, { force: true })
  }
}
