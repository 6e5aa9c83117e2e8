// Planning undo, undo --restore and fork on a session's history: pure, so that every refusal is decided (and
// tested) before anything is read or written.
import { UserError } from '../common/errors.js'
import { findRun, type History, keptRuns, type RunRecord } from './history.js'

/** A change of history that would make no sense (a run that does not exist, undo of the only run, …). */
export class HistoryRefused extends UserError {}

export function noSuchRun(name: string, n: number): HistoryRefused {
  return new HistoryRefused(`session '${name}' has no run ${n} — 'realm log ${name}' lists its runs`)
}

/** A new history, and the first run whose place in the session's state changed (its patch and those after it are made again). */
export interface HistoryPlan {
  history: History
  /** the run dropped or brought back */
  run: number
  /** the runs that make the new state, in order */
  kept: RunRecord[]
}

const withUndone = (history: History, n: number, undone: boolean): History => ({
  ...history,
  runs: history.runs.map((r) => (r.number !== n ? r : undone ? { ...r, undone: true } : withoutUndone(r))),
})

function withoutUndone(record: RunRecord): RunRecord {
  const { undone: _, ...rest } = record
  return rest
}

/** `undo [N]`: drops run N (default: the newest kept run). */
export function planUndo(name: string, history: History, n?: number): HistoryPlan {
  const kept = keptRuns(history)
  const target = n ?? kept.at(-1)?.number
  if (target === undefined) throw new HistoryRefused(`session '${name}' has no run to undo`)
  const record = findRun(history, target)
  if (!record) throw noSuchRun(name, target)
  if (record.undone)
    throw new HistoryRefused(`run ${target} of '${name}' is already undone — bring it back with 'realm undo ${name} --restore ${target}'`)
  if (kept.length === 1) {
    throw new HistoryRefused(
      `run ${target} is the only run of '${name}': undoing it would leave nothing — remove the session with 'realm remove ${name}' instead`,
    )
  }
  const next = withUndone(history, target, true)
  return { history: next, run: target, kept: keptRuns(next) }
}

/** `undo --restore N`: brings an undone run back into its place. */
export function planRestore(name: string, history: History, n: number): HistoryPlan {
  const record = findRun(history, n)
  if (!record) throw noSuchRun(name, n)
  if (!record.undone) throw new HistoryRefused(`run ${n} of '${name}' is not undone — there is nothing to restore`)
  const next = withUndone(history, n, false)
  return { history: next, run: n, kept: keptRuns(next) }
}

/** `fork --at N`: the history of a new session, whose state is this one's after run N (default: the newest). */
export function planFork(name: string, history: History, at?: number): { history: History; kept: RunRecord[] } {
  const target = at ?? keptRuns(history).at(-1)?.number
  if (target !== undefined && at !== undefined) {
    const record = findRun(history, target)
    if (!record) throw noSuchRun(name, target)
    if (record.undone) throw new HistoryRefused(`run ${target} of '${name}' is undone — restore it first, or fork at another run`)
  }
  // Runs after N are not part of the fork, undone ones before it are (the fork can restore them too).
  const runs = target === undefined ? history.runs : history.runs.filter((r) => r.number <= target)
  const forked: History = { runs, forkedFrom: { session: name, run: target ?? 0 } }
  return { history: forked, kept: keptRuns(forked) }
}

/** A run number given on the command line: a whole number from 1. */
export function parseRunNumber(text: string | number | undefined, option: string): number | undefined {
  if (text === undefined) return undefined
  const value = String(text)
  if (!/^[1-9][0-9]{0,8}$/.test(value))
    throw new HistoryRefused(`${option} must be a run number (1, 2, …; see 'realm log'), not '${value}'`)
  return Number(value)
}
