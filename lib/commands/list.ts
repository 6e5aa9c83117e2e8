import fs from 'node:fs'
import path from 'node:path'

import { listSessionNames } from '../session/store.js'
import { sessionDir } from '../common/paths.js'

export interface ListedSession {
  name: string
  project: string
  created: string
  patchBytes: number
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim()
  } catch {
    return '?'
  }
}

function size(file: string): number {
  try {
    return fs.statSync(file).size
  } catch {
    return 0
  }
}

/**
 * Reads only the small files a listing needs: no git, no Docker. Synchronous on purpose: for hundreds of
 * sessions, thousands of tiny promise-based reads cost several times more than reading them in a loop.
 */
export function listSessions(names: string[]): ListedSession[] {
  return names.map((name) => {
    const dir = sessionDir(name)
    return {
      name,
      project: read(path.join(dir, 'project_dir')),
      created: read(path.join(dir, 'created_at')),
      patchBytes: size(path.join(dir, 'base.patch')) + size(path.join(dir, 'changes.patch')),
    }
  })
}

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)}KB`
  return `${(bytes / 1024 / 1024).toFixed(1)}MB`
}

export function renderTable(sessions: ListedSession[]): string {
  const rows = [
    ['NAME', 'PROJECT', 'CREATED', 'PATCH'],
    ...sessions.map((s) => [
      s.name,
      s.project,
      s.created.replace(/\.\d+Z$/, 'Z'),
      s.patchBytes ? `yes (${humanSize(s.patchBytes)})` : 'no',
    ]),
  ]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

export async function listCommand(options: { json?: boolean }): Promise<number> {
  const sessions = listSessions(await listSessionNames())
  if (options.json) process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`)
  else if (sessions.length === 0) process.stdout.write('No sessions found.\n')
  else process.stdout.write(`${renderTable(sessions)}\n`)
  return 0
}
