import { randomBytes } from 'node:crypto'
import fsSync, { existsSync } from 'node:fs'
import path from 'node:path'

import { UserError, errorCode } from '../common/errors.js'
import { readTextOrUndefined, writeFileAtomicSync } from '../common/files.js'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../common/private.js'

/** A file's new content: literal data, or a copy of another file. */
export type FileUpdate = { data: string | Buffer } | { copyFrom: string } | { remove: true }

const TXN = '.txn'
const READY = 'READY'

/**
 * Updates several files of one directory together: all of them or none, even across a crash.
 * New contents are staged in `.txn/`, a READY marker (the removals, and an id no other commit has) makes the set durable,
 * then each file is renamed into place. `recoverTransaction` finishes a READY set or drops an unfinished one.
 *
 * The file operations are synchronous: a commit is a handful of writes and renames (a patch is copied by the
 * kernel), and `realm new` commits before its container can start, where each await would be a turn of the event
 * loop that waits for a CPU on a loaded machine (about twenty of them here).
 */
export async function commitFiles(dir: string, updates: Record<string, FileUpdate>): Promise<void> {
  recoverSync(dir)
  const staging = path.join(dir, TXN)
  fsSync.mkdirSync(staging, { mode: PRIVATE_DIR_MODE })
  try {
    const removals: string[] = []
    for (const [name, update] of Object.entries(updates)) {
      if ('remove' in update) removals.push(name)
      else if ('copyFrom' in update) {
        linkOrCopy(update.copyFrom, path.join(staging, name))
        fsSync.chmodSync(path.join(staging, name), PRIVATE_FILE_MODE)
      } else fsSync.writeFileSync(path.join(staging, name), update.data, { mode: PRIVATE_FILE_MODE })
    }
    const ready: Ready = { id: randomBytes(8).toString('hex'), removals }
    writeFileAtomicSync(path.join(staging, READY), JSON.stringify(ready))
  } catch (error) {
    fsSync.rmSync(staging, { recursive: true, force: true })
    throw error
  }
  finishSync(dir)
}

/**
 * A hard link where the file system allows one (a patch of tens of megabytes costs nothing to stage then), else a
 * copy. Safe because realm never writes a session file in place: every change is a new file renamed over the old.
 */
function linkOrCopy(from: string, to: string): void {
  try {
    fsSync.linkSync(from, to)
  } catch (error) {
    if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP'].includes(errorCode(error) ?? '')) throw error
    fsSync.copyFileSync(from, to)
  }
}

export async function recoverTransaction(dir: string): Promise<void> {
  recoverSync(dir)
}

function recoverSync(dir: string): void {
  const staging = path.join(dir, TXN)
  try {
    fsSync.accessSync(path.join(staging, READY))
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    fsSync.rmSync(staging, { recursive: true, force: true })
    return
  }
  finishSync(dir)
}

function finishSync(dir: string): void {
  const staging = path.join(dir, TXN)
  const { removals } = parseReady(fsSync.readFileSync(path.join(staging, READY), 'utf8'))
  for (const name of fsSync.readdirSync(staging)) {
    if (name !== READY) fsSync.renameSync(path.join(staging, name), path.join(dir, name))
  }
  for (const name of removals) fsSync.rmSync(path.join(dir, name), { force: true })
  fsSync.rmSync(staging, { recursive: true, force: true })
}

/** What READY says. realm before the id wrote the removals alone (a crash may have left such a marker). */
interface Ready {
  id: string
  removals: string[]
}

function parseReady(text: string): Ready {
  const value = JSON.parse(text) as Ready | string[]
  return Array.isArray(value) ? { id: text, removals: value } : value
}

/** Every commit writes a new generation, so that a reader can tell whether a commit happened while it read. */
export const GENERATION = 'generation'

// A reader that keeps meeting commits gives up rather than return a set it could not check.
const READ_ATTEMPTS = 50

/** Where each of `files` is in the committed state, and what a reader must see unchanged afterwards. */
interface ResolvedSet {
  paths: Record<string, string | undefined>
  generation: string
  /** the READY marker (its text) of a committed transaction still being renamed into place, if there was one */
  ready: string | undefined
}

function readGeneration(dir: string): string {
  return readTextOrUndefined(path.join(dir, GENERATION)) ?? ''
}

/**
 * The READY marker's text, read once: both which commit it is (its id: no inode or timestamp, which a later
 * commit's marker can share when the file system reuses an inode within one clock tick) and what it removes.
 */
function readReady(dir: string): { text: string; removals: string[] } | undefined {
  const text = readTextOrUndefined(path.join(dir, TXN, READY))
  if (text === undefined) return undefined
  try {
    return { text, removals: parseReady(text).removals }
  } catch {
    return undefined // written atomically, so never half; a hand edit counts as no transaction
  }
}

/**
 * The committed state's paths: what a READY transaction holds counts even before it is renamed into place (its
 * writer may still be doing that, or may have died); a transaction still being staged is not part of it yet.
 * Synchronous: these are a few stat calls, and `realm list` does this for every session.
 */
function resolveSet(dir: string, files: readonly string[]): ResolvedSet {
  const generation = readGeneration(dir)
  const ready = readReady(dir)
  const removals = ready?.removals
  const paths: Record<string, string | undefined> = {}
  for (const file of files) {
    const staged = removals ? path.join(dir, TXN, file) : undefined
    if (staged && existsSync(staged)) paths[file] = staged
    else if (removals?.includes(file)) paths[file] = undefined
    else paths[file] = existsSync(path.join(dir, file)) ? path.join(dir, file) : undefined
  }
  return { paths, generation, ready: ready?.text }
}

/**
 * Whether what was read from `set` is one committed state. A commit that began and ended meanwhile changed the
 * generation. One that is still renaming files into place has a READY marker (by its id) the set did not know of: some
 * files read may be its new ones and others the old ones, while the generation file itself (renamed in no
 * particular order) may not have changed yet.
 */
function unchangedSince(dir: string, set: ResolvedSet): boolean {
  // READY first: it exists from before a commit's first rename until after its last, and the generation is one
  // of those renames. Read the other way round, a whole commit could slip in between the two reads (generation
  // read before it renamed that file, READY after it removed the marker) and a torn read pass as unchanged.
  const ready = readReady(dir)?.text
  return ready === set.ready && readGeneration(dir) === set.generation
}

function readFailedOnRace(error: unknown): boolean {
  // A staged file renamed into place between resolving the set and reading it.
  return errorCode(error) === 'ENOENT'
}

function tooBusy(dir: string): Error {
  return new UserError(`the session in ${dir} was written to continuously while realm read it — try again`)
}

/**
 * Reads files of `dir` as one consistent, committed set, without a lock and without writing (see resolveSet),
 * reading the set again if a commit happened meanwhile. `read` gets each file's current path, or undefined when
 * the file does not exist; it must take what it needs (bytes, or a hard link) before returning.
 */
export async function readConsistent<T>(
  dir: string,
  files: readonly string[],
  read: (paths: Record<string, string | undefined>) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const set = resolveSet(dir, files)
    let result: T
    try {
      result = await read(set.paths)
    } catch (error) {
      if (readFailedOnRace(error)) continue
      throw error
    }
    if (unchangedSince(dir, set)) return result
  }
  throw tooBusy(dir)
}

/** readConsistent for readers that must stay synchronous (`realm list`). */
export function readConsistentSync<T>(dir: string, files: readonly string[], read: (paths: Record<string, string | undefined>) => T): T {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const set = resolveSet(dir, files)
    let result: T
    try {
      result = read(set.paths)
    } catch (error) {
      if (readFailedOnRace(error)) continue
      throw error
    }
    if (unchangedSince(dir, set)) return result
  }
  throw tooBusy(dir)
}
