import { existsSync } from 'node:fs'

import { runDir } from '../run/host-run.js'
import { sessionDir } from '../session/layout.js'
import { listSessions, type ListedSession } from '../session/listing.js'
import { listSessionNames } from '../session/store.js'

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)}KB`
  return `${(bytes / 1024 / 1024).toFixed(1)}MB`
}

function patchCell(s: ListedSession): string {
  if (s.unsaved && s.unsaved.patchBytes === s.patchBytes) return `yes (${humanSize(s.patchBytes)}, interrupted run not yet saved)`
  if (s.unsaved) return `yes (${humanSize(s.patchBytes)}, ${humanSize(s.unsaved.patchBytes)} of it from an interrupted run not yet saved)`
  return s.patchBytes ? `yes (${humanSize(s.patchBytes)})` : 'no'
}

function renderTable(sessions: ListedSession[]): string {
  const rows = [
    ['NAME', 'PROJECT', 'CREATED', 'PATCH'],
    ...sessions.map((s) => [s.name, s.project, s.created.replace(/\.\d+Z$/, 'Z'), patchCell(s)]),
  ]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

/**
 * Adds the work of an interrupted run that no command has saved yet (list only reads, so it shows it rather
 * than save it). Only sessions with a run directory are looked at, and the code that reads one is loaded only
 * then: a plain listing starts no faster than it can.
 */
async function withUnsaved(sessions: ListedSession[]): Promise<ListedSession[]> {
  const dir = (listed: ListedSession) => sessionDir(listed.name)
  const withRun = new Set(sessions.filter((listed) => existsSync(runDir({ dir: dir(listed) }))))
  if (withRun.size === 0) return sessions
  const { interruptedPatchBytes, interruptedRun } = await import('../run/pending.js')
  return Promise.all(
    sessions.map(async (listed) => {
      if (!withRun.has(listed)) return listed
      const run = await interruptedRun(dir(listed))
      if (!run) return listed
      const bytes = await interruptedPatchBytes(run)
      return { ...listed, patchBytes: listed.patchBytes + bytes, unsaved: { patchBytes: bytes, final: run.final } }
    }),
  )
}

export async function listCommand(options: { json?: boolean }): Promise<number> {
  const sessions = await withUnsaved(listSessions(await listSessionNames()))
  if (options.json) process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`)
  else if (sessions.length === 0) process.stdout.write('No sessions found.\n')
  else process.stdout.write(`${renderTable(sessions)}\n`)
  const unsaved = sessions.filter((s) => s.unsaved).map((s) => s.name)
  if (unsaved.length > 0 && !options.json) {
    process.stderr.write(
      `realm: ${unsaved.map((n) => `'${n}'`).join(', ')} ${unsaved.length === 1 ? 'has' : 'have'} an interrupted run not yet saved — the next 'realm resume', 'apply' or 'push' of the session saves it\n`,
    )
  }
  return 0
}
