// `realm log` for people: one line per run, newest last. Pure, so that its columns are tested without a session.
import { type History, promptLine, type RunRecord } from './history.js'

/** "2026-12-05 19:42" (UTC, as realm's timestamps are), or '?' when unknown. */
function when(iso: string | undefined): string {
  if (!iso) return '?'
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso)
  return match ? `${match[1]} ${match[2]}` : '?'
}

/** "42s", "3m05s", "1h02m", or '?' when either end is unknown. */
export function duration(start: string | undefined, end: string | undefined): string {
  const ms = start && end ? Date.parse(end) - Date.parse(start) : Number.NaN
  if (!Number.isFinite(ms) || ms < 0) return '?'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

function changes(r: RunRecord): string {
  if (r.files === 0) return 'no changes'
  return `+${r.added} -${r.removed} in ${r.files} file${r.files === 1 ? '' : 's'}`
}

/** What a run's line says besides its columns: undone, interrupted and recovered. */
function marks(r: RunRecord): string {
  const m: string[] = []
  if (r.undone) m.push('undone')
  if (r.recovered) m.push(`interrupted, recovered from its ${r.recovered === 'final' ? 'final capture' : 'last snapshot'}`)
  return m.length ? `[${m.join('; ')}] ` : ''
}

/** The table `realm log` prints. */
export function logLines(history: History): string[] {
  const rows = [
    ['RUN', 'STARTED (UTC)', 'TOOK', 'EXIT', 'CHANGES', 'PROMPT'],
    ...history.runs.map((r) => [
      String(r.number),
      when(r.startedAt),
      duration(r.startedAt, r.endedAt),
      r.exitCode === undefined ? '?' : String(r.exitCode),
      changes(r),
      `${marks(r)}${promptLine(r)}`,
    ]),
  ]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  )
}
