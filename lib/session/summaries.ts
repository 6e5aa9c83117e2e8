// The summary of each run patch (its files' changes and risk flags: what `diff --stat`, `apply` and the review
// show first), stored beside the patch when it is saved. Reading it costs the patch's number of files, not its
// bytes: on a 50 MB patch, the summary computed afresh costs more than git's own `apply --stat`.
//
// A stored summary is a cache, never the truth: it names the patch it describes by checksum (the one
// checksums.json records for the patch, so a patch written without it, by an older realm, does not match) and by
// size (so a patch truncated or edited afterwards does not match either). One that does not match, is missing or
// is damaged is not used, and the summary is computed from the patch as before.
import fs from 'node:fs/promises'

import { type ChangeKind, type FileChange, splitSectionBytes } from '../patch/parse.js'
import type { RiskFlag } from '../patch/risk.js'
import { type PatchSummary, PatchSummaryBuilder } from '../patch/summarize.js'
import type { FileUpdate } from './transaction.js'

/** The patches that have a stored summary, and its file: the run patches (the baseline is never shown). */
export const SUMMARY_FILES = { 'base.patch': 'base.summary.json', 'changes.patch': 'changes.summary.json' } as const
export type SummarizedPatch = keyof typeof SUMMARY_FILES

export function isSummarized(file: string): file is SummarizedPatch {
  return Object.hasOwn(SUMMARY_FILES, file)
}

interface Stored {
  version: 1
  /** the patch's checksum, as checksums.json has it */
  sha256: string
  /** the patch's size in bytes */
  size: number
  files: FileChange[]
  flags: RiskFlag[]
}

/** A patch's summary, computed from its bytes. */
function summarize(patch: Buffer): PatchSummary {
  const builder = new PatchSummaryBuilder()
  for (const section of splitSectionBytes(patch)) builder.add(section)
  return builder.summary
}

/** A patch's stored summary, for the transaction that saves the patch (`sha256`: its checksum). */
export function storedSummary(patch: Buffer, sha256: string): string {
  const stored: Stored = { version: 1, sha256, size: patch.length, ...summarize(patch) }
  return `${JSON.stringify(stored)}\n`
}

/**
 * The summary updates that go with `updates` of run patches: a new summary for each patch written (`sha256`:
 * the checksums the patches will have), none for one removed.
 */
export async function summaryUpdates(
  updates: Record<string, FileUpdate>,
  sha256: Record<string, string>,
): Promise<Record<string, FileUpdate>> {
  const out: Record<string, FileUpdate> = {}
  for (const [patch, summary] of Object.entries(SUMMARY_FILES)) {
    const update = updates[patch]
    if (!update) continue
    const sum = sha256[patch]
    if ('remove' in update || !sum) out[summary] = { remove: true }
    else {
      const bytes = 'copyFrom' in update ? await fs.readFile(update.copyFrom) : Buffer.from(update.data)
      out[summary] = { data: storedSummary(bytes, sum) }
    }
  }
  return out
}

const KINDS: ReadonlySet<string> = new Set<ChangeKind>(['added', 'deleted', 'modified', 'renamed', 'copied'])
const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0
const isMode = (m: unknown) => m === undefined || (typeof m === 'string' && /^[0-7]{6}$/.test(m))

function validChange(f: Partial<FileChange> | null): boolean {
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.path === 'string' &&
    typeof f.oldPath === 'string' &&
    typeof f.kind === 'string' &&
    KINDS.has(f.kind) &&
    typeof f.binary === 'boolean' &&
    isCount(f.added) &&
    isCount(f.removed) &&
    isMode(f.oldMode) &&
    isMode(f.newMode)
  )
}

const validFlag = (f: Partial<RiskFlag> | null) =>
  typeof f === 'object' && f !== null && typeof f.path === 'string' && typeof f.why === 'string'

/**
 * The summary in `text` when it describes the patch whose checksum (from checksums.json) and size are given;
 * undefined when it does not, or is damaged in any way.
 */
export function parseStoredSummary(
  text: string | undefined,
  patch: { sha256: string | undefined; size: number },
): PatchSummary | undefined {
  if (text === undefined || patch.sha256 === undefined) return undefined
  let stored: Partial<Stored>
  try {
    stored = JSON.parse(text) as Partial<Stored>
  } catch {
    return undefined
  }
  if (stored?.version !== 1 || stored.sha256 !== patch.sha256 || stored.size !== patch.size) return undefined
  const { files, flags } = stored
  if (!Array.isArray(files) || !Array.isArray(flags) || !files.every(validChange) || !flags.every(validFlag)) return undefined
  return { files, flags }
}
