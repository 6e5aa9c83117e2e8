// Removing a directory tree that a container wrote into: an overlay's work directory is left with mode 000,
// owned by root (rootful engines: empty) or, from a rootless engine's overlay, by the user and holding a
// whiteout of its own. Links are never followed.
import fs from 'node:fs'
import path from 'node:path'

import { errorCode } from './errors.js'

/** Removes `dir` and everything in it; a directory closed to its owner is opened first. Synchronous. */
export function removeTreeSync(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true })
  } catch (error) {
    if (errorCode(error) !== 'EACCES') throw error
    openUp(dir)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Makes each directory under `dir` that this process owns listable; removes the empty ones it cannot open. */
function openUp(dir: string): void {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(dir)
  } catch {
    return
  }
  if (!stat.isDirectory()) return
  if ((stat.mode & 0o700) !== 0o700) {
    // An empty directory can be removed without permission on itself; only its parent must be writable.
    if (stat.uid !== process.getuid?.()) {
      try {
        fs.rmdirSync(dir)
      } catch {
        // not empty: the removal that follows says so
      }
      return
    }
    fs.chmodSync(dir, 0o700)
  }
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) openUp(path.join(dir, entry.name))
}
