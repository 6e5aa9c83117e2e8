import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { UserError, errorCode } from '../common/errors.js'
import { processAlive } from '../common/process.js'

interface LockInfo {
  pid: number
  command: string
  host: string
  startedAt: string
}

export interface Lock {
  release(): Promise<void>
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await fs.readFile(file, 'utf8')) as LockInfo
    return typeof info.pid === 'number' ? info : undefined
  } catch {
    return undefined // gone, or half-written by a holder that crashed while writing it
  }
}

/**
 * Whether another live realm process holds the session's lock (one on another host counts as live: realm cannot
 * tell). Synchronous and read-only, for readers that decide what to show.
 */
export function heldByAnotherProcess(sessionDir: string): boolean {
  let info: LockInfo
  try {
    info = JSON.parse(readFileSync(path.join(sessionDir, 'lock'), 'utf8')) as LockInfo
  } catch {
    return false // no lock, or one half-written by a holder that crashed while writing it
  }
  if (typeof info.pid !== 'number') return false
  if (info.host !== os.hostname()) return true
  return info.pid !== process.pid && processAlive(info.pid)
}

/**
 * Takes the session's lock for `command`. A lock whose process is gone (on this host) is taken over and
 * the caller then finishes what that process left behind (see openSession).
 */
export async function acquireLock(sessionDir: string, sessionName: string, command: string): Promise<Lock> {
  const file = path.join(sessionDir, 'lock')
  const mine: LockInfo = { pid: process.pid, command, host: os.hostname(), startedAt: new Date().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // Synchronous: `realm new` takes the lock on the way to its container (see session/transaction.ts).
      const fd = openSync(file, 'wx', 0o600)
      try {
        writeFileSync(fd, JSON.stringify(mine))
      } finally {
        closeSync(fd)
      }
      return {
        release: async () => {
          const holder = await readLock(file)
          if (holder?.pid === process.pid) await fs.rm(file, { force: true })
        },
      }
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error
    }
    const holder = await readLock(file)
    if (holder && (holder.host !== mine.host || processAlive(holder.pid))) {
      throw new UserError(
        `session '${sessionName}' is in use by 'realm ${holder.command}' (pid ${holder.pid}${holder.host !== mine.host ? ` on ${holder.host}` : ''}, since ${holder.startedAt}) — wait for it to finish`,
      )
    }
    // Move the dead holder's lock aside instead of deleting it: if another process took the lock over in the
    // meantime, what we moved is its fresh lock, and it goes straight back.
    const aside = `${file}.stale.${process.pid}`
    try {
      await fs.rename(file, aside)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
      continue
    }
    const moved = await readLock(aside)
    if (moved && moved.pid !== holder?.pid && processAlive(moved.pid)) {
      await fs.link(aside, file).catch(() => undefined)
      await fs.rm(aside, { force: true })
      throw new UserError(`session '${sessionName}' is in use by 'realm ${moved.command}' (pid ${moved.pid}) — wait for it to finish`)
    }
    await fs.rm(aside, { force: true })
  }
  throw new UserError(`session '${sessionName}' is locked (${file}) — if no realm command is running for it, delete that file`)
}
