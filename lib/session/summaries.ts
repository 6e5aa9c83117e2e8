// The summary of each run patch (its files' changes and risk flags: what `diff --stat`, `apply` and the review
// show first), stored beside the patch when it is saved. Reading it costs the patch's number of files, not its
// bytes: on a 50 MB patch, the summary computed afresh costs more than git's own `apply --stat`.
//
// A stored summary is a cache, never the truth: it names the patch it describes by checksum (the one
// checksums.json records for the patch, so a patch written without it, by an older realm, does not match) and by
// size (so a patch truncated or edited afterwards does not match either). One that does not match, is missing or
// is damaged is not used, and the summary is computed from the patch as before. It also names the risk rules its
// flags came from: one stored under other rules (an older realm's, which missed files that run by themselves) is
// not used either, so every patch is flagged by today's rules.
import fs from 'node:fs/promises'

import { type ChangeKind, type FileChange, splitSectionBytes } from '../patch/parse.js'
import type { RiskFlag } from '../patch/risk.js'
import { RISK_RULES_VERSION } from '../patch/risk-rules.js'
import { type PatchSummary, PatchSummaryBuilder } from '../patch/summarize.js'
import type { FileUpdate } from './transaction.js'

/** The patches that have a stored summary, and its file: the run patches (the baseline is never shown). */
export const SUMMARY_FILES = { 'base.patch': 'base.summary.json', 'changes.patch': 'changes.summary.json' } as const
export type SummarizedPatch = keyof typeof SUMMARY_FILES

export function isSummarized(file: string): file is SummarizedPatch {
  return Object.hasOwn(SUMMARY_FILES, file)
}

/**
 * One file's change, compact: a 50 MB patch of 10,000 files has a summary of 10,000 of these, and reading it is
 * on the path of every `diff --stat`. [path, kind, added, removed, binary (1 or 0), oldPath (null when it is
 * path), oldMode, newMode (null when absent)].
 */
type StoredChange = [string, ChangeKind, number, number, 0 | 1, string | null, string | null, string | null]

interface Stored {
  version: 2
  /** the patch's checksum, as checksums.json has it */
  sha256: string
  /** the patch's size in bytes */
  size: number
  /** the version of the risk rules the flags came from (RISK_RULES_VERSION) */
  rules: number
  files: StoredChange[]
  flags: RiskFlag[]
}

const VERSION = 2

function compact(f: FileChange): StoredChange {
  return [
    f.path,
    f.kind,
    f.added,
    f.removed,
    f.binary ? 1 : 0,
    f.oldPath === f.path ? null : f.oldPath,
    f.oldMode ?? null,
    f.newMode ?? null,
  ]
}

/** The change `s` holds, or undefined when it is not one. */
function expand(s: unknown): FileChange | undefined {
  if (!Array.isArray(s) || s.length !== 8) return undefined
  const [path, kind, added, removed, binary, oldPath, oldMode, newMode] = s as unknown[]
  if (typeof path !== 'string' || typeof kind !== 'string' || !KINDS.has(kind) || !isCount(added) || !isCount(removed)) return undefined
  if ((binary !== 0 && binary !== 1) || (oldPath !== null && typeof oldPath !== 'string') || !isMode(oldMode) || !isMode(newMode))
    return undefined
  const change: FileChange = {
    oldPath: oldPath ?? path,
    path,
    kind: kind as ChangeKind,
    binary: binary === 1,
    added: added as number,
    removed: removed as number,
  }
  if (oldMode !== null) change.oldMode = oldMode as string
  if (newMode !== null) change.newMode = newMode as string
  return change
}

/** A patch's summary, computed from its bytes. */
function summarize(patch: Buffer): PatchSummary {
  const builder = new PatchSummaryBuilder()
  for (const section of splitSectionBytes(patch)) builder.add(section)
  return builder.summary
}

/** A patch's stored summary, for the transaction that saves the patch (`sha256`: its checksum). */
export function storedSummary(patch: Buffer, sha256: string): string {
  const { files, flags } = summarize(patch)
  const stored: Stored = { version: VERSION, sha256, size: patch.length, rules: RISK_RULES_VERSION, files: files.map(compact), flags }
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
/** null, or six octal digits (git's modes: 100644, 100755, 120000, 160000, 040000). */
const isMode = (m: unknown) => m === null || (typeof m === 'string' && m.length === 6 && OCTAL.test(m))
const OCTAL = /^[0-7]+$/

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
  if (stored?.version !== VERSION || stored.sha256 !== patch.sha256 || stored.size !== patch.size) return undefined
  if (stored.rules !== RISK_RULES_VERSION) return undefined
  const { files: compacted, flags } = stored
  if (!Array.isArray(compacted) || !Array.isArray(flags) || !flags.every(validFlag)) return undefined
  const files: FileChange[] = new Array(compacted.length)
  for (let i = 0; i < compacted.length; i++) {
    const change = expand(compacted[i])
    if (!change) return undefined
    files[i] = change
  }
  return { files, flags }
}
