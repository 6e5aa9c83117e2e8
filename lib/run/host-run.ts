// The directories of a run besides its output directory, none of which the container can write:
// - run-host/: host-only state (state.json, realm's own copy of the excludes file, the hidden files), never mounted but for its
//   claude-seed/ (the run's .claude.json, read-only);
// - input/: the session's patches as realm wrote them, handed to the container read-only, fresh each run, so
//   the container sees nothing else of the session (no failed/, checksums or metadata).
import fsSync, { constants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import { errorCode } from '../common/errors.js'
import { readTextOrUndefined } from '../common/files.js'
import { PRIVATE_FILE_MODE, privateDirSync } from '../common/private.js'
import { PATCH_FILES, type Session } from '../session/store.js'
import { OUT, type RunMode } from './protocol.js'
import type { Strategy } from './workspace.js'

const STATE_FILE = 'state.json'
const HIDDEN_FILE = 'hidden'

/** What state.json records while a run is under way, so a later command can recover it (see recover.ts). */
export interface RunState {
  container: string
  mode: RunMode
  strategy: Strategy
  pid: number
  startedAt: string
  /** what the run's record in the session's history says of it (see session/history.ts) */
  asked?: RunAsked
  /** the container runs on an engine that cannot see the host's files, and keeps its outputs there until fetched
   * (see remote-run.ts) */
  streamed?: boolean
}

/** What a run was asked to do and how it ran, as its record keeps it. */
export interface RunAsked {
  /** the agent's arguments as the user gave them */
  args: string[]
  shell: boolean
  network?: string
  image: string
}

/** The run's output directory: the container's to write (mounted at MOUNT.out), so untrusted. */
export function runDir(session: Pick<Session, 'dir'>): string {
  return path.join(session.dir, 'run')
}

/** An overlay run's upper and work directories. */
export function layersDir(session: Pick<Session, 'dir'>): string {
  return path.join(session.dir, 'layers')
}

export function hostRunDir(session: Pick<Session, 'dir'>): string {
  return path.join(session.dir, 'run-host')
}

/**
 * Whether a run left anything in the session directory for recover.ts to finish or clean up: the directories
 * run.ts cleanUp() removes (run/, layers/, input/, run-host/). A few stats, so that a command with nothing to
 * recover need not load the code that talks to docker. Anything but "not there" counts as there.
 */
export async function runLeftBehind(session: Pick<Session, 'dir'>): Promise<boolean> {
  const dirs = [runDir(session), layersDir(session), sessionInputDir(session), hostRunDir(session)]
  const found = await Promise.all(
    dirs.map((dir) =>
      fs.lstat(dir).then(
        () => true,
        (error) => errorCode(error) !== 'ENOENT',
      ),
    ),
  )
  return found.includes(true)
}

/** The run's .claude.json and settings.json, made afresh by container/claude-config.ts (read-only in the container). */
export function claudeSeedDir(session: Pick<Session, 'dir'>): string {
  return path.join(hostRunDir(session), 'claude-seed')
}

/** The session's own Claude Code conversations and todos, kept until the session is removed. */
export function claudeHistoryDir(session: Pick<Session, 'dir'>): string {
  return path.join(session.dir, 'claude-history')
}

export function sessionInputDir(session: Pick<Session, 'dir'>): string {
  return path.join(session.dir, 'input')
}

/** realm's copy of the excludes file it sent the container (host-edits reads it; the container's could be anything). */
export function hostExcludesFile(session: Pick<Session, 'dir'>): string {
  return path.join(hostRunDir(session), OUT.globalExcludes)
}

/** Records the run's state, realm's copy of the excludes file and the hidden files, before the container starts. */
export function writeRunState(session: Pick<Session, 'dir'>, state: RunState, excludes: string, hidden: readonly string[]): void {
  privateDirSync(hostRunDir(session))
  fsSync.writeFileSync(path.join(hostRunDir(session), STATE_FILE), JSON.stringify(state), { mode: PRIVATE_FILE_MODE })
  fsSync.writeFileSync(hostExcludesFile(session), excludes, { mode: PRIVATE_FILE_MODE })
  const hiddenList = hidden.map((p) => `${p}\0`).join('')
  fsSync.writeFileSync(path.join(hostRunDir(session), HIDDEN_FILE), hiddenList, { mode: PRIVATE_FILE_MODE })
}

/** The files the run hid from the agent (relative paths; hidden directories hide what is below them). */
export async function readHidden(session: Pick<Session, 'dir'>): Promise<string[]> {
  const text = await fs.readFile(path.join(hostRunDir(session), HIDDEN_FILE), 'utf8').catch(() => '')
  return text.split('\0').filter(Boolean)
}

/** The state of the session's run under way or interrupted; undefined when there is none (or a half-written one). */
export async function readRunState(session: Pick<Session, 'dir'>): Promise<RunState | undefined> {
  const text = readTextOrUndefined(path.join(hostRunDir(session), STATE_FILE))
  try {
    const state = JSON.parse(text ?? '') as RunState
    return typeof state?.container === 'string' && (state.mode === 'new' || state.mode === 'resume') ? state : undefined
  } catch {
    return undefined
  }
}

/**
 * Fills input/ afresh with the session's patch files. Hard links cost nothing and stay as they are when realm
 * later replaces a session file (every write is a rename); a copy is the fallback where links are not allowed.
 */
export function fillSessionInput(session: Pick<Session, 'dir'>): string {
  const input = sessionInputDir(session)
  fsSync.rmSync(input, { recursive: true, force: true })
  privateDirSync(input)
  for (const file of PATCH_FILES) {
    const from = path.join(session.dir, file)
    const to = path.join(input, file)
    try {
      fsSync.linkSync(from, to)
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue
      fsSync.copyFileSync(from, to, constants.COPYFILE_EXCL)
      fsSync.chmodSync(to, PRIVATE_FILE_MODE)
    }
  }
  return input
}
