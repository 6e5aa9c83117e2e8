import { existsSync, watch, type FSWatcher } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from './errors.js'

export async function pathExists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  )
}

/** `file` when it exists and is not empty (an empty patch means "no changes"), else undefined. */
export async function nonEmptyFile(file: string): Promise<string | undefined> {
  try {
    return (await fs.stat(file)).size > 0 ? file : undefined
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Resolves once `dir/name` exists. Watched rather than polled, so it is noticed at once; if the directory
 * cannot be watched (the system's limit on watches is reached, say) it never resolves, and the caller's
 * other path takes over. `close()` stops watching.
 */
export function watchForFile(dir: string, name: string): { appeared: Promise<void>; close: () => void } {
  let watcher: FSWatcher | undefined
  let settle: () => void = () => undefined
  const appeared = new Promise<void>((resolve) => {
    settle = resolve
  })
  const close = () => watcher?.close()
  const check = () => {
    if (!existsSync(path.join(dir, name))) return
    close()
    settle()
  }
  try {
    watcher = watch(dir, (_event, file) => {
      if (file === name) check()
    })
    watcher.on('error', close)
  } catch {
    // not watchable: see above
  }
  check()
  return { appeared, close }
}
