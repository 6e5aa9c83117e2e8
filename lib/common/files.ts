import { randomBytes } from 'node:crypto'
import fsSync, { existsSync, watch, type FSWatcher } from 'node:fs'
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

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`)
}

/** Replaces `file` with `data` so that a reader sees the old content or the new, never a part. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const temp = tempName(file)
  try {
    // Private: every file realm writes lies under $REALM_HOME (see common/private.ts).
    const handle = await fs.open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(temp, file)
  } catch (error) {
    await fs.rm(temp, { force: true })
    throw error
  }
}

/** The synchronous twin of writeFileAtomic, for code that must not yield (set-up before a run starts). */
export function writeFileAtomicSync(file: string, data: string | Buffer, mode = 0o600): void {
  const temp = tempName(file)
  try {
    const fd = fsSync.openSync(temp, 'wx', mode)
    try {
      fsSync.writeFileSync(fd, data)
      fsSync.fsyncSync(fd)
    } finally {
      fsSync.closeSync(fd)
    }
    fsSync.renameSync(temp, file)
  } catch (error) {
    fsSync.rmSync(temp, { force: true })
    throw error
  }
}

/** A file's text, or undefined when it cannot be read (missing, a directory, no permission). */
export function readTextOrUndefined(file: string): string | undefined {
  try {
    return fsSync.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}
