// The summary `realm list` shows of each session: only the small files a listing needs, no git, no Docker.
// Read-only and lock-free: a session being saved meanwhile is read as it was before or after, never half.
import fs from 'node:fs'
import path from 'node:path'

import { sessionDir } from './layout.js'
import { readConsistentSync } from './transaction.js'

export interface ListedSession {
  name: string
  project: string
  created: string
  /** the saved patches' bytes, plus those of an interrupted run's patch not yet saved */
  patchBytes: number
  /** an interrupted run's work that no command has saved yet (the next resume, apply or push saves it) */
  unsaved?: { patchBytes: number; final: boolean }
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim()
  } catch {
    return '?'
  }
}

function size(file: string | undefined): number {
  if (!file) return 0
  return fs.statSync(file).size // a file renamed away meanwhile throws ENOENT, and the set is read again
}

/**
 * Synchronous on purpose: for hundreds of sessions, thousands of tiny promise-based reads cost several times
 * more than reading them in a loop.
 */
export function listSessions(names: string[]): ListedSession[] {
  return names.map((name) => {
    const dir = sessionDir(name)
    return {
      name,
      project: read(path.join(dir, 'project_dir')),
      created: read(path.join(dir, 'created_at')),
      patchBytes: readConsistentSync(
        dir,
        ['base.patch', 'changes.patch'],
        (paths) => size(paths['base.patch']) + size(paths['changes.patch']),
      ),
    }
  })
}
