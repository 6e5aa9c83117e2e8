import fs from 'node:fs/promises'
import path from 'node:path'

import { listSessionNames } from '../session.js'
import { sessionDir } from '../paths.js'

export interface ListedSession {
  name: string
  project: string
  created: string
  patchBytes: number
}

async function read(file: string): Promise<string> {
  return (await fs.readFile(file, 'utf8').catch(() => '?')).trim()
}

async function size(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => undefined))?.size ?? 0
}

/** Reads only the small files a listing needs, all sessions at once: no git, no Docker. */
export async function listSessions(): Promise<ListedSession[]> {
  const names = await listSessionNames()
  return Promise.all(names.map(async (name) => {
    const dir = sessionDir(name)
    const [project, created, base, changes] = await Promise.all([
      read(path.join(dir, 'project_dir')), read(path.join(dir, 'created_at')),
      size(path.join(dir, 'base.patch')), size(path.join(dir, 'changes.patch')),
    ])
    return { name, project, created, patchBytes: base + changes }
  }))
}

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)}KB`
  return `${(bytes / 1024 / 1024).toFixed(1)}MB`
}

export function renderTable(sessions: ListedSession[]): string {
  const rows = [['NAME', 'PROJECT', 'CREATED', 'PATCH'], ...sessions.map((s) => [
    s.name, s.project, s.created.replace(/\.\d+Z$/, 'Z'), s.patchBytes ? `yes (${humanSize(s.patchBytes)})` : 'no',
  ])]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
}

export async function listCommand(options: { json?: boolean }): Promise<number> {
  const sessions = await listSessions()
  if (options.json) process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`)
  else if (sessions.length === 0) process.stdout.write('No sessions found.\n')
  else process.stdout.write(`${renderTable(sessions)}\n`)
  return 0
}
