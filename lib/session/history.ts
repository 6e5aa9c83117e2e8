// A session's history: one record per run, in runs.json, each run's own patch (run-<N>.patch, against the state
// before it) and its summary beside it. Pure: what the records say, how they are numbered and named, and what a
// session made by an older realm (no runs.json) can tell about its runs.

import { patchStat } from '../patch/parse.js'
import type { PatchSummary } from '../patch/summarize.js'

/** The session's file of run records. */
export const RUNS_FILE = 'runs.json'
/** The session's whole change, from its baseline to the state after its last kept run: what readers read. */
export const SESSION_PATCH = 'session.patch'

export interface RunRecord {
  /** 1, 2, …: never reused, also after an undo */
  number: number
  startedAt?: string
  endedAt?: string
  /** the agent's arguments as the user gave them (the prompt among them, whole) */
  args?: string[]
  /** an interactive shell ran instead of the agent */
  shell?: boolean
  exitCode?: number
  /** overlay or copy */
  workspace?: string
  /** the network mode */
  network?: string
  image?: string
  /** the run's change in totals (its summary file has each file) */
  files: number
  added: number
  removed: number
  /** the run was interrupted (its realm process died) and a later command saved it: its final capture or last snapshot */
  recovered?: 'final' | 'snapshot'
  /** undone: not part of the session's state, its patch kept until the session is removed (undo --restore) */
  undone?: boolean
  /** from a session an older realm made, which kept no history: 'earlier' is every run before the latest, folded */
  legacy?: 'earlier' | 'latest'
}

export interface History {
  runs: RunRecord[]
  /** the session this one was forked from, and after which of its runs */
  forkedFrom?: { session: string; run: number }
}

/** The patch file of run `n`. */
export function runPatchName(n: number): string {
  return `run-${n}.patch`
}

const RUN_PATCH = /^run-([1-9][0-9]{0,8})\.patch$/

/** Whether `name` is a run's patch file. */
export function isRunPatch(name: string): boolean {
  return RUN_PATCH.test(name)
}

/** The runs that make the session's state, in order. */
export function keptRuns(history: History): RunRecord[] {
  return history.runs.filter((r) => !r.undone)
}

/** The number the next run gets: one more than any run ever had, undone ones too. */
export function nextRunNumber(history: History): number {
  return history.runs.reduce((max, r) => Math.max(max, r.number), 0) + 1
}

/** The record of run `n`, or undefined. */
export function findRun(history: History, n: number): RunRecord | undefined {
  return history.runs.find((r) => r.number === n)
}

/** A record's text, for runs.json. */
export function historyText(history: History): string {
  return `${JSON.stringify({ version: 1, ...history }, null, 2)}\n`
}

const isText = (v: unknown) => v === undefined || typeof v === 'string'
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0

function validRecord(r: Partial<RunRecord> | null): r is RunRecord {
  return (
    typeof r === 'object' &&
    r !== null &&
    Number.isSafeInteger(r.number) &&
    (r.number as number) > 0 &&
    isCount(r.files) &&
    isCount(r.added) &&
    isCount(r.removed) &&
    isText(r.startedAt) &&
    isText(r.endedAt) &&
    (r.args === undefined || (Array.isArray(r.args) && r.args.every((a) => typeof a === 'string'))) &&
    (r.exitCode === undefined || Number.isSafeInteger(r.exitCode))
  )
}

/** runs.json's text as a History; undefined when it is damaged (a hand edit: the caller says so). */
export function parseHistory(text: string): History | undefined {
  let value: Partial<History> & { version?: number }
  try {
    value = JSON.parse(text) as typeof value
  } catch {
    return undefined
  }
  if (value?.version !== 1 || !Array.isArray(value.runs) || !value.runs.every(validRecord)) return undefined
  const numbers = value.runs.map((r) => r.number)
  if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1])) return undefined
  const history: History = { runs: value.runs }
  const from = value.forkedFrom
  if (from && typeof from.session === 'string' && Number.isSafeInteger(from.run)) history.forkedFrom = from
  return history
}

/** What a session made by an older realm (base.patch and changes.patch, no runs.json) can tell of its runs. */
export interface LegacyFacts {
  createdAt: string
  resumedAt?: string
  /** the totals of base.patch (every run before the latest, folded), when it is not empty */
  earlier?: Totals
  /** the totals of changes.patch (the latest run), undefined when it is empty */
  latest?: Totals
}

export interface Totals {
  files: number
  added: number
  removed: number
}

/** A patch's totals, from its summary. */
export function totalsOf(summary: PatchSummary): Totals {
  return patchStat(summary.files)
}

const NO_CHANGE: Totals = { files: 0, added: 0, removed: 0 }

/**
 * The history of a session an older realm made: its earlier runs as one record (when base.patch has any change),
 * then its latest run (started when the session was resumed last, or created). Nothing else is known.
 */
export function legacyHistory(facts: LegacyFacts): History {
  const runs: RunRecord[] = []
  if (facts.earlier) runs.push({ number: 1, startedAt: facts.createdAt, legacy: 'earlier', ...facts.earlier })
  runs.push({ number: runs.length + 1, startedAt: facts.resumedAt ?? facts.createdAt, legacy: 'latest', ...(facts.latest ?? NO_CHANGE) })
  return { runs }
}

/** The file each legacy record's patch is in, until a lock holder writes them as run patches. */
export function legacyPatchFile(record: RunRecord): string {
  return record.legacy === 'earlier' ? 'base.patch' : 'changes.patch'
}

/** The first line of what the run was asked, for `log`: the agent's arguments as one line. */
export function promptLine(record: RunRecord, width = 60): string {
  if (record.legacy === 'earlier') return '(earlier runs, kept together by an older realm)'
  if (record.shell) return '(shell)'
  if (!record.args) return record.legacy ? '(not recorded by an older realm)' : ''
  const line = record.args.join(' ').split('\n')[0].trim()
  const more = record.args.join(' ').includes('\n') ? ' …' : ''
  return line.length > width ? `${line.slice(0, width - 1)}…` : `${line}${more}`
}
