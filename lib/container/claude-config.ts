// Claude Code's configuration in a run: the host's, read-only, fresh at every run; and what realm keeps of a
// run in its own state (never in the host's ~/.claude or ~/.claude.json, which a run never writes).
//
// Settings, hooks, MCP servers, commands, agents, skills, plugins, output styles and CLAUDE.md shape or run code
// in a later run, so no run may change them for another: the container gets read-only mounts of the host's
// entries, copies them into its own HOME (a tmpfs), may edit that copy, and loses it with the container. What
// users want kept is kept here, decided key by key (see README, "What realm keeps"): onboarding and trust
// answers, approved keys and a login go to $REALM_HOME/claude; conversations and todos to the session.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { readTextOrUndefined, writeFileAtomicSync } from '../common/files.js'
import { realmHome } from '../common/paths.js'
import { privateDirSync } from '../common/private.js'
import { MOUNT } from '../run/protocol.js'
import { WORKSPACE_DIR, type Mount } from './plan.js'

const {
  claudeConfig: CLAUDE_CONFIG_DIR,
  claudeState: CLAUDE_STATE_DIR,
  claudeLogin: CLAUDE_LOGIN_FILE,
  claudeHistory: CLAUDE_HISTORY_DIR,
} = MOUNT

/**
 * Entries of the config directory that are Claude Code's state, not configuration. They are never handed to a
 * run: history is per session, the login is given on its own, the rest is caches and the host's own sessions.
 */
const STATE_ENTRIES = new Set([
  '.claude.json',
  '.credentials.json',
  'backups',
  'cache',
  'debug',
  'file-history',
  'history.jsonl',
  'ide',
  'local',
  'logs',
  'paste-cache',
  'plans',
  'projects',
  'session-env',
  'shell-snapshots',
  'statsig',
  'telemetry',
  'todos',
])

/** Top-level keys of .claude.json kept from a run: answers and identity, nothing that names code to run. */
const KEPT_KEYS = new Set([
  'hasCompletedOnboarding',
  'lastOnboardingVersion',
  'userID',
  'firstStartTime',
  'numStartups',
  'customApiKeyResponses',
  'primaryApiKey',
  'oauthAccount',
  'theme',
  'bypassPermissionsModeAccepted',
  'hasSeenTasksHint',
  'lastReleaseNotesSeen',
])
/** Per-project keys kept, for the container's own project paths only: the trust answer and onboarding. */
const KEPT_PROJECT_KEYS = new Set(['hasTrustDialogAccepted', 'hasCompletedProjectOnboarding', 'projectOnboardingSeenCount'])

/** The host's Claude Code configuration: the directory, and the .claude.json beside it (or inside it). */
export function claudeConfigPaths(home = os.homedir(), env: NodeJS.ProcessEnv = process.env): { dir: string; json: string } {
  // Claude Code's documented override: with CLAUDE_CONFIG_DIR, .claude.json lives inside that directory.
  if (env.CLAUDE_CONFIG_DIR) {
    const dir = path.resolve(home, env.CLAUDE_CONFIG_DIR)
    return { dir, json: path.join(dir, '.claude.json') }
  }
  return { dir: path.join(home, '.claude'), json: path.join(home, '.claude.json') }
}

/** realm's own Claude state: what it keeps of runs (.claude.json answers, a login made in a run). */
function keptDir(env: NodeJS.ProcessEnv): string {
  return path.join(realmHome(env), 'claude')
}

export function keptLoginFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(keptDir(env), '.credentials.json')
}

function keptJsonFile(env: NodeJS.ProcessEnv): string {
  return path.join(keptDir(env), '.claude.json')
}

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function parseObject(text: string | undefined): Json | undefined {
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text)
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

const isContainerProject = (dir: string) => dir === WORKSPACE_DIR || dir.startsWith(`${WORKSPACE_DIR}/`)

/** Only what realm keeps of a .claude.json: the kept keys, and the kept keys of the container's projects. */
export function keptPart(json: Json): Json {
  const kept: Json = {}
  for (const [key, value] of Object.entries(json)) if (KEPT_KEYS.has(key)) kept[key] = value
  if (isObject(json.projects)) {
    const projects: Json = {}
    for (const [dir, entry] of Object.entries(json.projects)) {
      if (!isContainerProject(dir) || !isObject(entry)) continue
      projects[dir] = Object.fromEntries(Object.entries(entry).filter(([key]) => KEPT_PROJECT_KEYS.has(key)))
    }
    if (Object.keys(projects).length) kept.projects = projects
  }
  return kept
}

/**
 * The .claude.json a run starts with: the host's current file, plus what realm kept of earlier runs where the
 * host has nothing (a login made in a run, the trust answer for /workspace); approved and rejected keys are the
 * union of both. Only kept keys are ever read from realm's file, whatever an older realm left in it.
 */
export function seedClaudeJson(hostText: string | undefined, keptText: string | undefined): string {
  const host = parseObject(hostText) ?? {}
  const kept = keptPart(parseObject(keptText) ?? {})
  const seed: Json = { ...host }
  for (const [key, value] of Object.entries(kept)) if (key !== 'projects' && !(key in seed)) seed[key] = value
  if (isObject(kept.projects)) {
    const projects: Json = isObject(host.projects) ? { ...host.projects } : {}
    for (const [dir, entry] of Object.entries(kept.projects))
      projects[dir] = { ...(isObject(projects[dir]) ? projects[dir] : {}), ...(entry as Json) }
    seed.projects = projects
  }
  const hostKeys = host.customApiKeyResponses
  const keptKeys = kept.customApiKeyResponses
  if (isObject(hostKeys) && isObject(keptKeys)) {
    const union = (key: string) => [...new Set([hostKeys[key], keptKeys[key]].flatMap((v) => (Array.isArray(v) ? v : [])))]
    seed.customApiKeyResponses = { ...hostKeys, approved: union('approved'), rejected: union('rejected') }
  }
  return `${JSON.stringify(seed, null, 2)}\n`
}

/** The login a run starts with: the newer of the host's and the one realm kept from a run. */
function loginFile(home: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = [path.join(claudeConfigPaths(home, env).dir, '.credentials.json'), keptLoginFile(env)]
  const found = candidates
    .map((file) => ({ file, stat: regularFile(file) }))
    .filter((c): c is { file: string; stat: fs.Stats } => c.stat !== undefined)
  found.sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs)
  return found[0]?.file
}

function regularFile(file: string): fs.Stats | undefined {
  try {
    const stat = fs.statSync(file)
    return stat.isFile() ? stat : undefined
  } catch {
    return undefined
  }
}

export interface ClaudeRunDirs {
  /** realm's per-run directory for the run's .claude.json (made afresh here) */
  seedDir: string
  /** the session's conversation history */
  historyDir: string
}

/**
 * The mounts that give a run Claude Code's configuration, all read-only but the session's history: each entry
 * of the host's config directory (never its state), the run's .claude.json, and the login. Nothing on the host
 * outside realm's directories is created or written.
 */
export function claudeMounts(dirs: ClaudeRunDirs, home = os.homedir(), env: NodeJS.ProcessEnv = process.env): Mount[] {
  const { dir, json } = claudeConfigPaths(home, env)
  fs.rmSync(dirs.seedDir, { recursive: true, force: true })
  privateDirSync(dirs.seedDir)
  // Written by the agent in every run: made private again, whatever mode it left.
  privateDirSync(dirs.historyDir)
  // A fresh file of this run's own: no rename or fsync needed (a crash leaves a directory the next run replaces).
  const seed = seedClaudeJson(readTextOrUndefined(json), readTextOrUndefined(keptJsonFile(env)))
  fs.writeFileSync(path.join(dirs.seedDir, '.claude.json'), seed, { mode: 0o600 })
  const mounts: Mount[] = [
    { source: dirs.seedDir, target: CLAUDE_STATE_DIR, readonly: true },
    { source: dirs.historyDir, target: CLAUDE_HISTORY_DIR, readonly: false },
  ]
  const login = loginFile(home, env)
  if (login) mounts.push({ source: login, target: CLAUDE_LOGIN_FILE, readonly: true })
  let entries: string[] = []
  try {
    entries = fs.readdirSync(dir)
  } catch {
    // no configuration on the host: the run starts with none
  }
  for (const name of entries.sort()) {
    if (STATE_ENTRIES.has(name) || name.includes('\n')) continue
    mounts.push({ source: path.join(dir, name), target: `${CLAUDE_CONFIG_DIR}/${name}`, readonly: true })
  }
  return mounts
}

/** What a run handed back of Claude Code's state (read from its output directory as untrusted input). */
export interface ClaudeRunState {
  json?: Buffer
  login?: Buffer
  /** the container's list of configuration entries it changed: `changed|added|removed <name>` lines */
  changes?: string
}

const MCP_LABEL = 'MCP servers (~/.claude.json)'

function mcpServers(json: Json | undefined): string {
  if (!json) return '{}'
  const perProject = isObject(json.projects)
    ? Object.fromEntries(Object.entries(json.projects).map(([dir, entry]) => [dir, isObject(entry) ? (entry.mcpServers ?? null) : null]))
    : {}
  return JSON.stringify({ top: json.mcpServers ?? null, perProject })
}

/** One line per configuration item the agent changed in its copy; none of it was kept. */
export function configChangeLines(state: ClaudeRunState, seedText: string | undefined): string[] {
  const lines: string[] = []
  for (const line of (state.changes ?? '').split('\n')) {
    const match = /^(changed|added|removed) ([^/\0]{1,200})$/.exec(line)
    if (!match || STATE_ENTRIES.has(match[2])) continue
    // The name came from the container: only printable characters reach the user's terminal.
    lines.push(`${match[1]} ~/.claude/${match[2].replace(/[^\x20-\x7e]/g, '?')}`)
  }
  const returned = parseObject(state.json?.toString('utf8'))
  if (returned && mcpServers(returned) !== mcpServers(parseObject(seedText))) lines.push(`changed ${MCP_LABEL}`)
  return [...new Set(lines)].slice(0, 50)
}

/**
 * Keeps what users want kept of a finished run's Claude state in realm's own directory, and returns the
 * report lines of what the agent changed in its configuration (which is not kept). `seedDir` is the run's.
 */
export function keepClaudeState(state: ClaudeRunState, seedDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const seedText = readTextOrUndefined(path.join(seedDir, '.claude.json'))
  const returned = parseObject(state.json?.toString('utf8'))
  if (returned) {
    const kept = keptPart(returned)
    const before = keptPart(parseObject(readTextOrUndefined(keptJsonFile(env))) ?? {})
    if (JSON.stringify(kept) !== JSON.stringify(before)) {
      privateDirSync(keptDir(env))
      writeFileAtomicSync(keptJsonFile(env), `${JSON.stringify({ ...before, ...kept }, null, 2)}\n`)
    }
  }
  // A login made or refreshed in the run: kept when it is a JSON object and differs from every login realm knows.
  const login = state.login?.toString('utf8')
  if (login !== undefined && parseObject(login) && login !== readTextOrUndefined(keptLoginFile(env))) {
    privateDirSync(keptDir(env))
    writeFileAtomicSync(keptLoginFile(env), login)
  }
  return configChangeLines(state, seedText)
}
