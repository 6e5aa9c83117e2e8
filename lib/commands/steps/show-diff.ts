// The session's change for a person to read: diffstat, risk flags, then the colored diff through a pager.
// A patch can be tens of megabytes: it is read twice, a section at a time (once for the summary at the top, once
// for the diff), and written out as it is rendered, so memory holds a section, not the patch.
import kleur from 'kleur'

import { say } from '../../cli/output.js'
import { openPaged, type Paged } from '../../cli/pager.js'
import { UserError } from '../../common/errors.js'
import { renderSection } from '../../patch/render.js'
import { flagLines } from '../../patch/risk.js'
import { fileLines, statLine } from '../../patch/summary.js'
import { runLeftBehind } from '../../run/host-run.js'
import { readNotice } from '../../session/notice.js'
import type { PatchSummary } from '../../patch/summarize.js'
import {
  type PatchReader,
  type PendingRun,
  withLastRunReader,
  withPatchReader,
  withRunReader,
  withSessionReader,
} from '../../session/patches.js'
import { findRun } from '../../session/history.js'
import { noSuchRun, parseRunNumber } from '../../session/history-plan.js'
import { readHistory } from '../../session/run-history.js'
import { loadSession, type Session } from '../../session/store.js'

export interface DiffOptions {
  stat?: boolean
  last?: boolean
  /** one run alone, against the state before it */
  run?: string | number
  color?: string
}

/** --color: always, never, or auto (a terminal on stdout and no NO_COLOR). */
export function useColor(option: string | undefined, env = process.env, tty = Boolean(process.stdout.isTTY)): boolean {
  const when = option ?? 'auto'
  if (when === 'always') return true
  if (when === 'never') return false
  if (when !== 'auto') throw new UserError(`--color must be always, never or auto (got '${when}')`)
  return tty && env.NO_COLOR === undefined && env.TERM !== 'dumb'
}

// Output goes out in pieces of about this size: few enough writes to be cheap, small enough to start at once.
const WRITE_BYTES = 256 * 1024

/** Lines gathered into pieces of WRITE_BYTES for `out`; `add` resolves false once the reader is gone. */
function lineWriter(out: Paged) {
  let pending: string[] = []
  let size = 0
  const flush = async () => {
    if (pending.length === 0) return true
    const text = `${pending.join('\n')}\n`
    pending = []
    size = 0
    return out.write(text)
  }
  return {
    async add(lines: readonly string[]): Promise<boolean> {
      for (const line of lines) {
        pending.push(line)
        size += line.length + 1
      }
      return size < WRITE_BYTES || flush()
    },
    flush,
  }
}

export async function showDiff(name: string, options: DiffOptions): Promise<number> {
  kleur.enabled = useColor(options.color)
  const run = parseRunNumber(options.run, '--run')
  if (run !== undefined && options.last) throw new UserError('give --run <n> or --last, not both')
  // Read-only, so no lock: patch files are replaced atomically, and a diff is allowed while the agent runs.
  const session = await loadSession(name)
  if (run !== undefined) return showRun(session, name, options, run)
  const show = async (interrupted?: PendingRun, mark?: string) => {
    // What an earlier command left for the user; the next command holding the lock removes it.
    for (const line of readNotice(session) ?? []) say(line)
    if (mark) say(mark)
    return showPatches(session, name, options, interrupted)
  }
  // Only a session that a run left something in can have an interrupted run: run/pending.ts loads only then.
  if (!(await runLeftBehind(session))) return show()
  const { interruptedMark, withInterruptedRun } = await import('../../run/pending.js')
  // An interrupted run's work is shown too, marked: diff only reads, so saving it is left to a lock holder.
  return withInterruptedRun(session, (interrupted) => show(interrupted, interrupted && interruptedMark(name, interrupted)))
}

/** `diff --run N`: that run's own patch, as the session's history keeps it. */
async function showRun(session: Session, name: string, options: DiffOptions, n: number): Promise<number> {
  for (const line of readNotice(session) ?? []) say(line)
  const found = await readHistory(session)
  const record = findRun(found.history, n)
  if (!record) throw noSuchRun(name, n)
  const label = `Run ${n}${record.undone ? ' (undone)' : ''}`
  return withRunReader(session, found.patchFile(record), showPatch(options, label, `run ${n} of '${name}'`))
}

/** Shows one patch: its stat, files and risk flags, then (without --stat) its text through the pager. */
function showPatch(options: DiffOptions, label: string, what: string) {
  return async (patch: PatchReader | undefined, stored?: PatchSummary) => {
    const summary = stored ?? (patch ? await patch.summary() : { files: [], flags: [] })
    if (summary.files.length === 0) {
      say(`realm: ${what} changed nothing`)
      return 0
    }
    const out = await openPaged()
    try {
      const lines = lineWriter(out)
      let reading = await lines.add([statLine(label, summary.files), ...fileLines(summary.files, Infinity), ...flagLines(summary.flags)])
      if (reading && patch && !options.stat) {
        reading = await lines.add([''])
        for await (const batch of patch.sections()) {
          for (const section of batch) if (reading) reading = await lines.add(renderSection(section.toString('utf8')))
          if (!reading) break // the reader quit (closed the pager): stop quietly
        }
      }
      await lines.flush()
    } finally {
      await out.close()
    }
    return 0
  }
}

async function showPatches(session: Session, name: string, options: DiffOptions, interrupted: PendingRun | undefined): Promise<number> {
  const show = options.last
    ? showPatch(options, 'Latest run', `the latest run of '${name}'`)
    : showPatch(options, 'Session', `session '${name}'`)
  if (options.last) return interrupted ? withPatchReader(interrupted.patch, show) : withLastRunReader(session, show)
  return withSessionReader(session, show, interrupted)
}
