import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from '../common/errors.js'

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`)
}

/** Replaces `file` with `data` so that a reader sees the old content or the new, never a part. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const temp = tempName(file)
  try {
    const handle = await fs.open(temp, 'wx')
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

/** A file's new content: literal data, or a copy of another file. */
export type FileUpdate = { data: string | Buffer } | { copyFrom: string } | { remove: true }

const TXN = '.txn'
const READY = 'READY'

/**
 * Updates several files of one directory together: all of them or none, even across a crash.
 * New contents are staged in `.txn/`, a READY marker (listing the removals) makes the set durable,
 * then each file is renamed into place. `recoverTransaction` finishes a READY set or drops an unfinished one.
 */
export async function commitFiles(dir: string, updates: Record<string, FileUpdate>): Promise<void> {
  await recoverTransaction(dir)
  const staging = path.join(dir, TXN)
  await fs.mkdir(staging)
  try {
    const removals: string[] = []
    for (const [name, update] of Object.entries(updates)) {
      if ('remove' in update) removals.push(name)
      else if ('copyFrom' in update) await fs.copyFile(update.copyFrom, path.join(staging, name))
      else await fs.writeFile(path.join(staging, name), update.data)
    }
    await writeFileAtomic(path.join(staging, READY), JSON.stringify(removals))
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true })
    throw error
  }
  await finishTransaction(dir)
}

export async function recoverTransaction(dir: string): Promise<void> {
  const staging = path.join(dir, TXN)
  try {
    await fs.access(path.join(staging, READY))
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    await fs.rm(staging, { recursive: true, force: true })
    return
  }
  await finishTransaction(dir)
}

async function finishTransaction(dir: string): Promise<void> {
  const staging = path.join(dir, TXN)
  const removals = JSON.parse(await fs.readFile(path.join(staging, READY), 'utf8')) as string[]
  for (const name of await fs.readdir(staging)) {
    if (name !== READY) await fs.rename(path.join(staging, name), path.join(dir, name))
  }
  for (const name of removals) await fs.rm(path.join(dir, name), { force: true })
  await fs.rm(staging, { recursive: true, force: true })
}
