// The session's change as one patch: from its baseline (where the agent started) to its latest state. A patch
// can be tens of megabytes, so it stays a file: commands hand git its path and read it a section at a time.
import { readSync } from 'node:fs'
import fs, { type FileHandle } from 'node:fs/promises'
import path from 'node:path'

import { type FilePatch, filePatchOfSection, splitSectionBytes } from '../patch/parse.js'
import { type PatchSummary, PatchSummaryBuilder } from '../patch/summarize.js'
import { nonEmptyFile, pathExists } from '../common/files.js'
import { RUNS_FILE, SESSION_PATCH } from './history.js'
import { openSessionChange, openSingleRun, readStoredSummary, snapshotSession } from './snapshot.js'
import { patchPath, sessionPatches, type Session } from './store.js'

/**
 * The patches that make the session's change on its baseline, those that exist and are not empty: session.patch
 * when the session keeps a history (it holds every kept run), else base.patch and changes.patch. For lock holders.
 */
export async function runPatches(session: Session): Promise<string[]> {
  if (await pathExists(path.join(session.dir, RUNS_FILE))) {
    const whole = await nonEmptyFile(path.join(session.dir, SESSION_PATCH))
    return whole ? [whole] : []
  }
  return (await sessionPatches(session)).filter((p) => !p.endsWith('baseline.patch'))
}

/** An interrupted run's patches, copied out of its output directory (see run/pending.ts), to show with the rest. */
export interface PendingRun {
  /** the baseline the run started from, when the session has none saved yet (a run of `new`) */
  baseline?: string
  patch?: string
}

/**
 * Calls `use` with the path of the session's whole change as one patch file (undefined when it has none).
 * With one run patch that is the file itself: it already starts at the baseline. With several, they are folded
 * in a private index and the patch between the baseline and the final tree is written to scratch, which is
 * removed once `use` is done.
 */
export async function withSessionPatch<T>(
  session: Session,
  use: (file: string | undefined, stored?: PatchSummary) => Promise<T>,
  pending?: PendingRun,
): Promise<T> {
  const { withScratch } = await import('../git/scratch.js')
  return withScratch(async (scratch) => {
    // Hard links of one committed state: a command that saves meanwhile changes nothing of what is read here.
    const { patches: saved, summaries, history } = await snapshotSession(session, scratch)
    const baseline = saved['baseline.patch'] ?? pending?.baseline
    const whole = history ? [saved['session.patch']] : [saved['base.patch'], saved['changes.patch']]
    const runs = [...whole, pending?.patch].filter((p): p is string => p !== undefined)
    if (runs.length <= 1) {
      // One saved patch is the whole change, and its stored summary (when it matches) the whole summary.
      const stored = pending?.patch
        ? undefined
        : history
          ? summaries['session.patch']
          : (summaries['base.patch'] ?? summaries['changes.patch'])
      return use(runs[0], stored)
    }
    // Loaded only here: `realm diff` of a single run starts no git, and need not load what runs one.
    const { diffTreesToFile, sessionTrees } = await import('../git/trees.js')
    const trees = await sessionTrees(session.projectDir, scratch, session.meta.baseCommit, baseline, runs, 'scratch', !pending)
    const file = path.join(scratch, 'session.patch')
    await diffTreesToFile(session.projectDir, trees.builder.env, trees.baseline, trees.final, file)
    return use(file)
  })
}

/** The session's whole change as text (see withSessionPatch); '' when it has none. For patches known to be small. */
export async function combinedPatch(session: Session): Promise<string> {
  return withSessionPatch(session, async (file) => (file ? fs.readFile(file, 'utf8') : ''))
}

// Reads of this size: big enough that their number does not matter, small enough that memory does not notice.
const READ_SIZE = 1 << 20
const SECTION_START = Buffer.from('\ndiff --git ')

/**
 * A patch file opened for reading in sections, as often as needed: every pass reads the same file, even if the
 * session replaces it meanwhile (patch files are replaced by rename, and this one stays open).
 */
export class PatchReader {
  /** `handle`: a file open for reading, which the reader closes. */
  constructor(private readonly handle: FileHandle) {}

  static async open(file: string): Promise<PatchReader> {
    return new PatchReader(await fs.open(file, 'r'))
  }

  /**
   * The file's sections in order, as bytes (each from its `diff --git` line to the next one; anything before
   * the first is no section), a batch at a time. Memory holds a read's worth of the file: a section that does
   * not fit is carried into the next read, which grows to hold it. The next read (synchronous: a buffered read
   * of a local file, cheaper than a promise per megabyte) is done before a batch is handed out, into the other
   * buffer, so the batch's sections stay valid while they are used.
   */
  async *sections(): AsyncGenerator<Buffer[]> {
    let position = 0
    // Two buffers in turn: the next read fills one while the sections of the other are still in use. (New
    // buffers for every read would cost more in garbage collection than the reading itself.)
    const buffers = [Buffer.allocUnsafe(2 * READ_SIZE), Buffer.allocUnsafe(2 * READ_SIZE)]
    let turn = 0
    const readAfter = async (carry: Buffer) => {
      const size = Math.max(READ_SIZE, carry.length) // growing with the carry keeps a huge section's copies linear
      if (buffers[turn].length < carry.length + size) buffers[turn] = Buffer.allocUnsafe(2 * (carry.length + size))
      const data = buffers[turn]
      turn = 1 - turn
      carry.copy(data)
      const bytesRead = readSync(this.handle.fd, data, carry.length, size, position)
      position += bytesRead
      return { data: data.subarray(0, carry.length + bytesRead), fresh: bytesRead, carried: carry.length }
    }
    let started = false // whether the carried bytes are a section's (else they are text before the first)
    let first = true
    let pending: ReturnType<typeof readAfter> | undefined = readAfter(Buffer.alloc(0))
    try {
      while (pending) {
        const { data, fresh, carried } = await pending
        pending = undefined
        const batch: Buffer[] = []
        let from: number = started || (first && data.subarray(0, 11).toString('latin1') === 'diff --git ') ? 0 : -1
        first = false
        // A section start that straddled the previous read begins in its last few bytes.
        for (
          let at = data.indexOf(SECTION_START, Math.max(0, carried - SECTION_START.length));
          at >= 0;
          at = data.indexOf(SECTION_START, at + 1)
        ) {
          if (from >= 0) batch.push(data.subarray(from, at + 1))
          from = at + 1
        }
        if (fresh === 0) {
          if (from >= 0 && from < data.length) batch.push(data.subarray(from))
        } else {
          started = from >= 0
          pending = readAfter(started ? data.subarray(from) : data.subarray(Math.max(0, data.length - SECTION_START.length)))
        }
        if (batch.length) yield batch
      }
    } finally {
      // Stopped early: the read under way must not fail later on a closed file, unheard.
      await pending?.catch(() => undefined)
    }
  }

  async summary(): Promise<PatchSummary> {
    const builder = new PatchSummaryBuilder()
    for await (const batch of this.sections()) for (const section of batch) builder.add(section)
    return builder.summary
  }

  close(): Promise<void> {
    return this.handle.close()
  }
}

/** Calls `use` with `file` open for reading (see PatchReader); a missing file reads as an empty patch. */
export async function withPatchReader<T>(file: string | undefined, use: (reader: PatchReader | undefined) => Promise<T>): Promise<T> {
  if (!file) return use(undefined)
  return using(await PatchReader.open(file), use)
}

/** Calls `use` with `reader`, and closes it afterwards. */
async function using<T>(reader: PatchReader | undefined, use: (reader: PatchReader | undefined) => Promise<T>): Promise<T> {
  try {
    return await use(reader)
  } finally {
    await reader?.close()
  }
}

/** What a reader of the session's change gets: the patch open for reading, and its stored summary if it has one. */
type UseReader<T> = (reader: PatchReader | undefined, stored?: PatchSummary) => Promise<T>

/**
 * Calls `use` with the session's whole change open for reading (see withSessionPatch), as readers that hold no
 * lock read it. A session of one run patch (the usual case) is opened in place, without a scratch directory.
 */
export async function withSessionReader<T>(session: Session, use: UseReader<T>, pending?: PendingRun): Promise<T> {
  if (!pending?.patch) {
    const single = await openSessionChange(session)
    if (single !== 'several') return using(single && new PatchReader(single.handle), (reader) => use(reader, single?.stored))
  }
  return withSessionPatch(session, (file, stored) => withPatchReader(file, (reader) => use(reader, stored)), pending)
}

/** Calls `use` with the latest run's patch open for reading (undefined when it changed nothing), as withSessionReader. */
export async function withLastRunReader<T>(session: Session, use: UseReader<T>): Promise<T> {
  const single = await openSingleRun(session, ['changes.patch'])
  return using(typeof single === 'object' ? new PatchReader(single.handle) : undefined, (reader) =>
    use(reader, typeof single === 'object' ? single.stored : undefined),
  )
}

/**
 * Calls `use` with one run's own patch open for reading (undefined when the run changed nothing): `file` is its
 * patch file in the session (see sessionHistory), read as withLastRunReader reads.
 */
export async function withRunReader<T>(session: Session, file: string, use: UseReader<T>): Promise<T> {
  const single = await openSingleRun(session, [file])
  return using(typeof single === 'object' ? new PatchReader(single.handle) : undefined, (reader) =>
    use(reader, typeof single === 'object' ? single.stored : undefined),
  )
}

/** What the summary lines say about a patch file (its files and risk flags), read a section at a time. */
export async function summarizePatch(file: string | undefined): Promise<PatchSummary> {
  return withPatchReader(file, async (reader) => (reader ? reader.summary() : { files: [], flags: [] }))
}

/**
 * summarizePatch for a lock holder's patch file: the session's stored summary when `file` is one of its run
 * patches and the summary matches it (see summaries.ts), else read from the patch.
 */
export async function summarizeSessionPatch(session: Session, file: string): Promise<PatchSummary> {
  return (await readStoredSummary(session, file)) ?? summarizePatch(file)
}

/**
 * The latest run's files and the whole session's, each with its text, for the summary after a run. (With one
 * run patch both are that patch, read once.)
 */
export async function sessionFiles(session: Session): Promise<{ run: FilePatch[]; session: FilePatch[] }> {
  const last = await patchPath(session, 'changes.patch')
  return withSessionPatch(session, async (all) => {
    const whole = all ? await readFilePatches(all) : []
    const run = !last ? [] : (await sameFile(last, all)) ? whole : await readFilePatches(last)
    return { run, session: whole }
  })
}

/** A patch file's FilePatches, read from its bytes: a big patch's text is decoded only where it is asked for. */
async function readFilePatches(file: string): Promise<FilePatch[]> {
  return splitSectionBytes(await fs.readFile(file)).map(filePatchOfSection)
}

/** Whether two paths are one file (`all` may be a hard link of `last` taken by withSessionPatch). */
async function sameFile(a: string, b: string | undefined): Promise<boolean> {
  if (!b) return false
  const [x, y] = await Promise.all([fs.stat(a), fs.stat(b)])
  return x.ino === y.ino && x.dev === y.dev
}
