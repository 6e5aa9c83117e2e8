// The session's patches as readers that hold no lock (diff, list) see them: one committed state, taken so that a
// command that saves meanwhile changes nothing of what is read, with the stored summaries of that same state.
import { randomBytes } from 'node:crypto'
import fs, { type FileHandle } from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from '../common/errors.js'
import type { PatchSummary } from '../patch/summarize.js'
import { RUNS_FILE, SESSION_PATCH } from './history.js'
import { CHECKSUMS, PATCH_FILES, type Session } from './store.js'
import { parseStoredSummary, summaryFileOf } from './summaries.js'
import { readConsistent } from './transaction.js'

/** checksums.json's text as the patches' checksums; none when it is missing or damaged. */
function parseChecksums(text: string | undefined): Record<string, string> {
  try {
    const sums: unknown = text === undefined ? {} : JSON.parse(text)
    return sums && typeof sums === 'object' ? (sums as Record<string, string>) : {}
  } catch {
    return {}
  }
}

const readText = (file: string | undefined) => (file === undefined ? undefined : fs.readFile(file, 'utf8'))

/**
 * A run patch's stored summary (see summaries.ts) when it describes the patch as it is; undefined otherwise.
 * For a lock holder, whose files nothing replaces meanwhile.
 */
export async function readStoredSummary(session: Session, file: string): Promise<PatchSummary | undefined> {
  const name = path.basename(file)
  const summaryFile = summaryFileOf(name)
  if (path.dirname(file) !== session.dir || !summaryFile) return undefined
  const read = (f: string) => fs.readFile(path.join(session.dir, f), 'utf8').catch(() => undefined)
  const [sums, text, stat] = await Promise.all([read(CHECKSUMS), read(summaryFile), fs.stat(file).catch(() => undefined)])
  return stat && parseStoredSummary(text, { sha256: parseChecksums(sums)[name], size: stat.size })
}

/** The files a snapshot holds: the patches, and the session's whole change (sessions with a history). */
const SNAPSHOT_PATCHES = [...PATCH_FILES, SESSION_PATCH] as const
type SnapshotPatch = (typeof SNAPSHOT_PATCHES)[number]

export interface SessionSnapshot {
  /** the non-empty patch files */
  patches: Partial<Record<SnapshotPatch, string>>
  /** the stored summaries that describe those patches (see summaries.ts) */
  summaries: Partial<Record<SnapshotPatch, PatchSummary>>
  /** the session keeps a history (runs.json), so session.patch is its whole change; else base.patch + changes.patch are */
  history: boolean
}

const summaryFiles = (files: readonly string[]) => files.map(summaryFileOf).filter((f): f is string => f !== undefined)

/**
 * The session's non-empty patch files as they are at one moment: hard links in `scratch` (copies across file
 * systems), with the stored summaries read in the same moment.
 */
export async function snapshotSession(session: Session, scratch: string): Promise<SessionSnapshot> {
  const files = [...SNAPSHOT_PATCHES, CHECKSUMS, RUNS_FILE, ...summaryFiles(SNAPSHOT_PATCHES)]
  return readConsistent(session.dir, files, async (paths) => {
    const patches: SessionSnapshot['patches'] = {}
    const summaries: SessionSnapshot['summaries'] = {}
    const sums = parseChecksums(await readText(paths[CHECKSUMS]))
    for (const file of SNAPSHOT_PATCHES) {
      const source = paths[file]
      if (!source) continue
      const target = path.join(scratch, `${randomBytes(4).toString('hex')}-${file}`)
      await fs.link(source, target).catch(async (error) => {
        if (errorCode(error) !== 'EXDEV') throw error
        await fs.copyFile(source, target)
      })
      const size = (await fs.stat(target)).size
      if (size === 0) continue
      patches[file] = target
      const summaryFile = summaryFileOf(file)
      if (!summaryFile) continue
      const summary = parseStoredSummary(await readText(paths[summaryFile]), { sha256: sums[file], size })
      if (summary) summaries[file] = summary
    }
    return { patches, summaries, history: paths[RUNS_FILE] !== undefined }
  })
}

/** The session's non-empty patch files as they are at one moment (see snapshotSession). */
export async function snapshotPatches(session: Session, scratch: string): Promise<Partial<Record<SnapshotPatch, string>>> {
  return (await snapshotSession(session, scratch)).patches
}

/** One run patch, open, with its stored summary when that matches it. */
export interface OpenRun {
  handle: FileHandle
  stored?: PatchSummary
}

/**
 * The one patch of `files` that is not empty, opened at one committed moment (an open file is what a hard link is
 * to the other readers: a commit replaces the path, not the file), with its stored summary; undefined when there
 * is none, 'several' when more than one is not empty. Needs no scratch directory: a single patch is what a reader
 * of a big session waits for. `files` may depend on the state read: given the paths of that state, it names the
 * candidates (a session with a history reads session.patch, an older one base.patch and changes.patch).
 */
export async function openSingleRun(
  session: Session,
  files: readonly string[] | ((paths: Record<string, string | undefined>) => readonly string[]),
  among: readonly string[] = typeof files === 'function' ? [] : files,
): Promise<OpenRun | 'several' | undefined> {
  const opened: FileHandle[] = []
  let result: OpenRun | 'several' | undefined
  try {
    result = await readConsistent(session.dir, [...among, RUNS_FILE, CHECKSUMS, ...summaryFiles(among)], async (paths) => {
      let found: { file: string; handle: FileHandle; size: number } | undefined
      for (const file of typeof files === 'function' ? files(paths) : files) {
        const source = paths[file]
        if (!source) continue
        const handle = await fs.open(source, 'r')
        opened.push(handle)
        const { size } = await handle.stat()
        if (size === 0) continue
        if (found) return 'several' as const
        found = { file, handle, size }
      }
      if (!found) return undefined
      const sums = parseChecksums(await readText(paths[CHECKSUMS]))
      const summaryFile = summaryFileOf(found.file)
      const stored = summaryFile
        ? parseStoredSummary(await readText(paths[summaryFile]), { sha256: sums[found.file], size: found.size })
        : undefined
      return { handle: found.handle, stored }
    })
    return result
  } finally {
    // Every file opened but not handed out: by a read repeated because a commit came between, or on an error.
    const kept = typeof result === 'object' ? result.handle : undefined
    for (const handle of opened) if (handle !== kept) await handle.close()
  }
}

/** The session's whole change, opened as openSingleRun opens it: session.patch when the session has a history. */
export function openSessionChange(session: Session): Promise<OpenRun | 'several' | undefined> {
  return openSingleRun(session, (paths) => (paths[RUNS_FILE] ? [SESSION_PATCH] : ['base.patch', 'changes.patch']), [
    SESSION_PATCH,
    'base.patch',
    'changes.patch',
  ])
}
