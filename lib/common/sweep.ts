// Making a tree the container wrote into safe to leave on the host: nothing in it may lend another uid (or the
// user) a privilege. Setuid and setgid bits are cleared, device nodes, FIFOs and sockets are removed (overlay
// whiteouts among them: they are character devices 0/0, and no overlay needs them once its container is gone),
// and every mode is made private. Links are never followed; the walk is bounded.
import type { Dirent } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from './errors.js'

/** Far more entries than realm's own state or a conversation history holds; a tree beyond it is not walked on. */
export const SWEEP_LIMIT = 200_000

export interface SweepResult {
  /** entries looked at */
  seen: number
  /** special files removed */
  removed: number
  /** modes changed */
  tightened: number
  /** false when the tree had more than `limit` entries and the rest was not looked at */
  complete: boolean
}

/** The mode an entry of this kind should have: owner bits only, never setuid, setgid or sticky. */
function privateMode(mode: number): number {
  return mode & 0o700
}

/** Sweeps `root` itself and everything under it (see the top of this file). A missing `root` is fine. */
export async function sweepTree(root: string, limit = SWEEP_LIMIT): Promise<SweepResult> {
  const result: SweepResult = { seen: 0, removed: 0, tightened: 0, complete: true }
  const stack = [root]
  while (stack.length > 0) {
    const current = stack.pop() as string
    if (result.seen >= limit) {
      result.complete = false
      break
    }
    result.seen++
    const stat = await fs.lstat(current).catch(() => undefined)
    if (!stat || stat.isSymbolicLink()) continue
    if (stat.isFile() || stat.isDirectory()) {
      const mode = stat.mode & 0o7777
      if (privateMode(mode) !== mode) {
        // lstat said a file or directory, and nothing else writes here any more (the container is gone), so
        // chmod's following of a link cannot be raced into one.
        await fs.chmod(current, privateMode(mode)).catch(ignoreGone)
        result.tightened++
      }
      if (stat.isDirectory()) for (const entry of await entries(current)) stack.push(path.join(current, entry.name))
      continue
    }
    // A device, FIFO or socket: nothing realm or the agent's work needs on the host.
    await fs.rm(current, { force: true })
    result.removed++
  }
  return result
}

/** A directory's entries; none when it cannot be read (an overlay work dir the kernel left root's with mode 000). */
async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true })
  } catch (error) {
    if (errorCode(error) === 'EACCES' || errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return []
    throw error
  }
}

function ignoreGone(error: unknown): void {
  if (errorCode(error) !== 'ENOENT') throw error
}
