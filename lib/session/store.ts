import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import { commitFiles, type FileUpdate, GENERATION } from './transaction.js'
import { UserError, errorCode } from '../common/errors.js'
import { nonEmptyFile, writeFileAtomic } from '../common/files.js'
import { PRIVATE_DIR_MODE, privateDirSync } from '../common/private.js'
import { removeTreeSync } from '../common/remove-tree.js'
import { SessionDamaged, SessionExists, SessionNotFound } from './errors.js'
import { nameProblem } from './names.js'
import { sessionDir, sessionsDir } from './layout.js'
import { summaryUpdates } from './summaries.js'
import { isRunPatch, SESSION_PATCH } from './history.js'

/** What realm records about a session beyond the original layout's plain files. */
export interface SessionMeta {
  version: 1
  /** The commit the session started from. */
  baseCommit: string
  /** The branch the project had checked out then (the agent works on a branch of that name). */
  branch?: string
  /** Where in the repository the agent starts, relative to its root ('' for the root). */
  subdir: string
  image: string
  /** Set by `new --remote`: the remote branch the session started from. */
  remote?: { name: string; branch: string }
  /** What realm pushed last, so the next push may replace exactly that and nothing else. */
  pushed?: { remote: string; branch: string; commit: string; digest: string }
}

export interface Session {
  name: string
  dir: string
  projectDir: string
  createdAt: string
  resumedAt?: string
  meta: SessionMeta
}

/** The patch files' checksums as realm wrote them (see checkPatches). */
export const CHECKSUMS = 'checksums.json'
const EMPTY_SHA256 = createHash('sha256').digest('hex')

export const PATCH_FILES = ['baseline.patch', 'base.patch', 'changes.patch'] as const
export type PatchFile = (typeof PATCH_FILES)[number]

/** Whether `name` is one of the patch files realm keeps checksums of: the three above, the session's whole change, each run's. */
export function isSessionPatch(name: string): boolean {
  return (PATCH_FILES as readonly string[]).includes(name) || name === SESSION_PATCH || isRunPatch(name)
}

/** The patch files of the session in `dir` (see isSessionPatch), those that exist. */
async function patchFilesIn(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[])
  return names.filter(isSessionPatch)
}

export function checkName(name: string): void {
  const problem = nameProblem(name)
  if (problem) throw new UserError(`invalid session name '${name}': ${problem}`)
}

export async function sessionExists(name: string): Promise<boolean> {
  return existsSync(sessionDir(name))
}

/** A session file's trimmed text; a missing required file means the session is damaged. */
async function readText(dir: string, file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(dir, file), 'utf8')).trim()
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}

async function requiredText(dir: string, file: string): Promise<string> {
  const text = await readText(dir, file)
  if (text === undefined) {
    throw new SessionDamaged(path.basename(dir), `session file ${path.join(dir, file)} is missing — the session is damaged`, 'remove')
  }
  return text
}

function parseMeta(text: string, file: string): SessionMeta {
  let meta: Partial<SessionMeta>
  try {
    meta = JSON.parse(text) as Partial<SessionMeta>
  } catch {
    throw new UserError(`session file ${file} is not valid JSON — it was truncated or edited by hand`)
  }
  if (
    meta?.version !== 1 ||
    typeof meta.baseCommit !== 'string' ||
    !/^[0-9a-f]{40,64}$/.test(meta.baseCommit) ||
    typeof meta.image !== 'string' ||
    typeof meta.subdir !== 'string'
  ) {
    throw new UserError(`session file ${file} is damaged: it lacks a valid version, baseCommit, image or subdir`)
  }
  return meta as SessionMeta
}

export async function loadSession(name: string): Promise<Session> {
  checkName(name)
  const dir = sessionDir(name)
  try {
    await fs.access(dir)
  } catch {
    throw new SessionNotFound(name)
  }
  const metaText = await requiredText(dir, 'session.json')
  return {
    name,
    dir,
    projectDir: await requiredText(dir, 'project_dir'),
    createdAt: await requiredText(dir, 'created_at'),
    resumedAt: await readText(dir, 'resumed_at'),
    meta: parseMeta(metaText, path.join(dir, 'session.json')),
  }
}

/** The path of a patch file when it exists and is not empty. */
export async function patchPath(session: Session, file: PatchFile): Promise<string | undefined> {
  return nonEmptyFile(path.join(session.dir, file))
}

/** The session's patches in the order they apply on its base commit. */
export async function sessionPatches(session: Session): Promise<string[]> {
  const found = await Promise.all(PATCH_FILES.map((file) => patchPath(session, file)))
  return found.filter((p): p is string => p !== undefined)
}

/** Creates the session directory with its identity files; `rollback` removes it again. */
export async function createSession(name: string, projectDir: string, meta: SessionMeta, now = new Date()): Promise<Session> {
  const dir = sessionDir(name)
  // Synchronous, as the commit below (see transaction.ts): this lies on the way to the run's container.
  privateDirSync(sessionsDir())
  try {
    mkdirSync(dir, { mode: PRIVATE_DIR_MODE })
  } catch (error) {
    if (errorCode(error) === 'EEXIST') throw new SessionExists(name)
    throw error
  }
  const createdAt = now.toISOString()
  try {
    await commitFiles(dir, {
      project_dir: { data: `${projectDir}\n` },
      created_at: { data: `${createdAt}\n` },
      'session.json': { data: `${JSON.stringify(meta, null, 2)}\n` },
    })
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return { name, dir, projectDir, createdAt, meta }
}

async function sha256(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256')
      .update(await fs.readFile(file))
      .digest('hex')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}

/**
 * The checksum of each patch file as it will be once `updates` are made. A file the update leaves as it is keeps
 * the checksum checksums.json has for it (the lock holder checked it, see checkPatches): hashing every run's patch
 * again on every save would cost the whole history.
 */
async function checksumsAfter(dir: string, updates: Record<string, FileUpdate>): Promise<Record<string, string>> {
  const sums: Record<string, string> = {}
  const known = await readChecksums(dir)
  const bySource = new Map<string, Promise<string | undefined>>()
  const files = new Set([...PATCH_FILES, ...(await patchFilesIn(dir)), ...Object.keys(updates).filter(isSessionPatch)])
  for (const file of [...files].sort()) {
    const update = updates[file]
    let sum: string | undefined
    if (!update) sum = known[file] ?? (await sha256(path.join(dir, file)))
    else if ('remove' in update) sum = undefined
    else if ('copyFrom' in update) {
      if (!bySource.has(update.copyFrom)) bySource.set(update.copyFrom, sha256(update.copyFrom))
      sum = await bySource.get(update.copyFrom)
    } else sum = createHash('sha256').update(update.data).digest('hex')
    if (sum) sums[file] = sum
  }
  return sums
}

/** checksums.json as written, {} when there is none or it is damaged. */
async function readChecksums(dir: string): Promise<Record<string, string>> {
  try {
    const value: unknown = JSON.parse(await fs.readFile(path.join(dir, CHECKSUMS), 'utf8'))
    return value && typeof value === 'object' ? (value as Record<string, string>) : {}
  } catch {
    return {}
  }
}

/** Replaces session files together (see commitFiles), keeping the patch checksums and summaries in step. */
export async function updateSession(session: Session, updates: Record<string, FileUpdate>, meta?: SessionMeta): Promise<void> {
  const all: Record<string, FileUpdate> = { ...updates, [GENERATION]: { data: `${randomBytes(8).toString('hex')}\n` } }
  if (meta) all['session.json'] = { data: `${JSON.stringify(meta, null, 2)}\n` }
  let sums: Record<string, string> | undefined
  if (Object.keys(updates).some(isSessionPatch)) {
    sums = await checksumsAfter(session.dir, updates)
    all[CHECKSUMS] = { data: `${JSON.stringify(sums, null, 2)}\n` }
    Object.assign(all, await summaryUpdates(updates, sums))
  }
  await commitFiles(session.dir, all)
  if (meta) session.meta = meta
  if (sums) await noteWritten(session, Object.keys(updates).filter(isSessionPatch), sums)
}

/**
 * Notes the patch files a commit just wrote as verified (see checkPatches): realm hashed them itself a moment
 * ago, and hashing the whole session's patches again at the next command would cost more than the command. A
 * note that is wrong (a crash before it was written) only makes the next check hash the file.
 */
async function noteWritten(session: Session, files: string[], sums: Record<string, string>): Promise<void> {
  const notes = await readVerified(session)
  for (const file of files) {
    const stat = sums[file] ? await statOf(path.join(session.dir, file)) : undefined
    if (stat) notes[file] = { sha256: sums[file], ...stat }
    else delete notes[file]
  }
  await writeFileAtomic(path.join(session.dir, VERIFIED), `${JSON.stringify(notes)}\n`)
}

async function readVerified(session: Session): Promise<Record<string, Verified | undefined>> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(path.join(session.dir, VERIFIED), 'utf8'))
    if (parsed && typeof parsed === 'object') return parsed as Record<string, Verified | undefined>
  } catch {
    // none yet, or damaged: every file is hashed, and the notes written afresh
  }
  return {}
}

/**
 * Where checkPatches notes each patch file it found intact: its checksum with its size, modification time and
 * inode. A later check re-hashes only a file whose size, mtime or inode differ (or whose checksum in
 * checksums.json changed): a file truncated by a crash or edited by hand changes its size or its mtime, and one
 * saved by an editor is usually a new inode too; hashing 50 MB on every command costs more than the command.
 * (An edit of the same size, in place, within the clock tick of the last write is the one change this misses.)
 */
const VERIFIED = 'checksums.verified.json'

interface Verified {
  sha256: string
  size: string
  mtimeNs: string
  ino: string
}

function statKey(stat: { size: bigint; mtimeNs: bigint; ino: bigint }): Omit<Verified, 'sha256'> {
  return { size: String(stat.size), mtimeNs: String(stat.mtimeNs), ino: String(stat.ino) }
}

async function statOf(file: string): Promise<Omit<Verified, 'sha256'> | undefined> {
  const stat = await fs.stat(file, { bigint: true }).catch((error) => {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  })
  return stat && statKey(stat)
}

const sameStat = (a: Omit<Verified, 'sha256'> | undefined, b: Omit<Verified, 'sha256'> | undefined) =>
  a !== undefined && b !== undefined && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino

/**
 * Refuses patch files that changed since realm wrote them — truncated by a crash of something else, or
 * edited by hand — naming the file, before anything builds on them. Sessions from the original realm
 * layout have no checksums and are taken as they are. Only a lock holder calls this (it notes what it verified).
 */
export async function checkPatches(session: Session): Promise<void> {
  const text = await fs.readFile(path.join(session.dir, CHECKSUMS), 'utf8').catch(() => undefined)
  if (text === undefined) return
  let sums: Record<string, string>
  try {
    sums = JSON.parse(text) as Record<string, string>
  } catch {
    throw new UserError(`session file ${path.join(session.dir, CHECKSUMS)} is damaged — it was truncated or edited by hand`)
  }
  const verified = await readVerified(session)
  const noted: Record<string, Verified> = {}
  for (const file of new Set([...PATCH_FILES, ...Object.keys(sums).filter(isSessionPatch)])) {
    const full = path.join(session.dir, file)
    const before = await statOf(full)
    const known = verified[file]
    if (known && sums[file] && known.sha256 === sums[file] && sameStat(before, known)) {
      noted[file] = known
      continue
    }
    const actual = await sha256(full)
    if (actual !== sums[file] && !(actual === EMPTY_SHA256 && !sums[file])) {
      throw new SessionDamaged(
        session.name,
        `session file ${full} ${actual ? 'was changed' : 'is missing'} since realm wrote it (truncated or edited by hand)`,
        'restore-or-remove',
      )
    }
    // Noted only when the file stayed the same while it was hashed.
    const after = await statOf(full)
    if (actual && sums[file] && before && sameStat(before, after)) noted[file] = { sha256: actual, ...before }
  }
  if (JSON.stringify(noted) !== JSON.stringify(verified))
    await writeFileAtomic(path.join(session.dir, VERIFIED), `${JSON.stringify(noted)}\n`)
}

export async function listSessionNames(): Promise<string[]> {
  try {
    const entries = await fs.readdir(sessionsDir(), { withFileTypes: true })
    return entries
      .filter((e) => e.isDirectory() && !nameProblem(e.name))
      .map((e) => e.name)
      .sort()
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return []
    throw error
  }
}

export async function removeSessionDir(session: Session): Promise<void> {
  removeTreeSync(session.dir)
}
