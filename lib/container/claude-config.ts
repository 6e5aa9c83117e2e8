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
import { PLACEHOLDERS } from '../net/broker.js'
import { MOUNT } from '../run/protocol.js'
import { WORKSPACE_DIRS, type Mount } from './plan.js'

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
  // when Claude Code last cleaned up old transcripts
  '.last-cleanup',
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
  // one file per running session (its pid, its cwd), rewritten as the session goes: bookkeeping, not configuration
  'sessions',
  'shell-snapshots',
  'statsig',
  'telemetry',
  'todos',
])

/** The user settings file of the config directory, which a run gets as its own copy (see seedSettings). */
const SETTINGS_FILE = 'settings.json'

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

/**
 * realm's answers to the questions Claude Code asks about the sandbox itself, put in the run's copy of
 * .claude.json (never the host's file). Each one is a question whose default ends the run or stops it forever
 * at a screen, and whose honest answer is always the same in a realm run. Checked against the pinned version by
 * test/e2e/claude.test.ts (the real TUI, typed at from its first keystroke); where each is documented:
 */
const CLAUDE_JSON_ANSWERS = {
  // The first-run onboarding (theme picker, login choice, a connectivity check against api.anthropic.com that
  // realm's network policy refuses, so it ends the run). Documented as the "global config" key that records a
  // finished onboarding (code.claude.com/docs/en/settings-reference, "Global config settings"; also
  // anthropics/claude-code#5572). Claude Code resets it on logout, so false is never a user's choice. The theme
  // it would have asked for stays the user's: `theme` in their settings or .claude.json is left as it is.
  hasCompletedOnboarding: true,
  // The "Try the new fullscreen renderer?" question, offered up to three times
  // (`fullscreenUpsellSeenCount`, see anthropics/claude-code#48851 and the fullscreen page,
  // code.claude.com/docs/en/fullscreen). Marking the offers used up asks nothing and chooses nothing: the
  // renderer stays whatever Claude Code or the user's own `tui` setting picks.
  fullscreenUpsellSeenCount: 3,
} as const
/**
 * Not a question but a start-up attempt: Claude Code installs its official plugin marketplace by itself on a
 * first start (from downloads.claude.ai, then by cloning anthropics/claude-plugins-official from github.com over
 * SSH and HTTPS), and a run starts from a copy that never remembers having tried, so every run tried again. Under
 * realm's policy that is DNS the sandbox refuses by design, and a clone thrown away with the container even where
 * it succeeds; the attempts filled the blocked-connections line, which is meant for what the agent tried. This
 * is the record Claude Code writes itself when its switch CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL is
 * set (read from the pinned binary: "policy_blocked" is never retried; anthropics/claude-code#44169 describes the
 * start-up clone). A marketplace the user has (`officialMarketplaceAutoInstalled: true`, its catalog in the
 * plugins/ entry a run gets) is left as it is, and `/plugin marketplace add` in a run still works where the
 * network allows it: only the automatic attempt is stopped.
 */
const MARKETPLACE_AUTO_INSTALL_SKIPPED = {
  officialMarketplaceAutoInstallAttempted: true,
  officialMarketplaceAutoInstalled: false,
  officialMarketplaceAutoInstallFailReason: 'policy_blocked',
} as const
/** "Do you trust this folder?" for /workspace, the container's copy of the project (docs: settings-reference,
 * `projects[path].hasTrustDialogAccepted`; the error Claude Code prints names the same key), and for where
 * rootless Podman has it. Trust of a folder holds for the folders below it, so /workspace covers a session's
 * subdirectory. */
const TRUSTED_PROJECTS = WORKSPACE_DIRS
/**
 * "Do you want to use this API key?" for realm's placeholder (the broker swaps it for the real key on the host):
 * Claude Code remembers the answer as the key's last 20 characters in `customApiKeyResponses.approved`
 * (code.claude.com/docs/en/settings-reference, "Global config settings"). The placeholder is realm's own
 * string, so a "No" recorded for it (Enter on the old default) is taken back: it would only lock the user out.
 */
const PLACEHOLDER_KEY_ANSWER = PLACEHOLDERS.ANTHROPIC_API_KEY.slice(-20)

/**
 * The Bypass Permissions warning, which realm's own `--dangerously-skip-permissions` brings up: the key that
 * records its acceptance lives in the user settings (`skipDangerousModePermissionPrompt`, written there by
 * Claude Code when the user accepts; see anthropics/claude-code#26233 and #25503). realm runs the agent in the
 * sandbox that warning asks about, so the run's copy of settings.json accepts it, unless the user's own
 * settings say otherwise (a user who set the key to false sees the warning).
 */
const SETTINGS_ANSWERS = { skipDangerousModePermissionPrompt: true } as const

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

const isContainerProject = (dir: string) => WORKSPACE_DIRS.some((ws) => dir === ws || dir.startsWith(`${ws}/`))

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
  return `${JSON.stringify(withAnswers(seed), null, 2)}\n`
}

/** The run's .claude.json with realm's answers to the sandbox's own questions (see CLAUDE_JSON_ANSWERS). */
function withAnswers(seed: Json): Json {
  const answered: Json = { ...seed, hasCompletedOnboarding: CLAUDE_JSON_ANSWERS.hasCompletedOnboarding }
  const seen = typeof seed.fullscreenUpsellSeenCount === 'number' ? seed.fullscreenUpsellSeenCount : 0
  answered.fullscreenUpsellSeenCount = Math.max(seen, CLAUDE_JSON_ANSWERS.fullscreenUpsellSeenCount)
  if (seed.officialMarketplaceAutoInstalled !== true) Object.assign(answered, MARKETPLACE_AUTO_INSTALL_SKIPPED)
  const projects: Json = isObject(seed.projects) ? { ...seed.projects } : {}
  for (const trusted of TRUSTED_PROJECTS) {
    const entry = projects[trusted]
    projects[trusted] = { ...(isObject(entry) ? entry : {}), hasTrustDialogAccepted: true }
  }
  answered.projects = projects
  const keys = isObject(seed.customApiKeyResponses) ? seed.customApiKeyResponses : {}
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v) => v !== PLACEHOLDER_KEY_ANSWER) : [])
  answered.customApiKeyResponses = {
    ...keys,
    approved: [...list(keys.approved), PLACEHOLDER_KEY_ANSWER],
    rejected: list(keys.rejected),
  }
  return answered
}

/**
 * The run's copy of the user's settings.json: theirs with realm's answers where they have made no choice.
 * Undefined when their file is not a JSON object: it is handed over as it is, and Claude Code says what is wrong.
 */
export function seedSettings(hostText: string | undefined): string | undefined {
  const host = hostText === undefined ? {} : parseObject(hostText)
  if (!host) return undefined
  const seed: Json = { ...host }
  for (const [key, value] of Object.entries(SETTINGS_ANSWERS)) if (!(key in seed)) seed[key] = value
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
  // The settings go in as the run's own copy, with realm's answers; every other entry as the host has it.
  const settings = seedSettings(readTextOrUndefined(path.join(dir, SETTINGS_FILE)))
  if (settings !== undefined) {
    fs.writeFileSync(path.join(dirs.seedDir, SETTINGS_FILE), settings, { mode: 0o600 })
    mounts.push({ source: path.join(dirs.seedDir, SETTINGS_FILE), target: `${CLAUDE_CONFIG_DIR}/${SETTINGS_FILE}`, readonly: true })
  }
  for (const name of entries.sort()) {
    if (STATE_ENTRIES.has(name) || name.includes('\n') || (name === SETTINGS_FILE && settings !== undefined)) continue
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
  /** the agent's ~/.claude/settings.json, when it differs from the one the run started with */
  settings?: Buffer
}

const MCP_LABEL = 'MCP servers (~/.claude.json)'

function mcpServers(json: Json | undefined): string {
  if (!json) return '{}'
  const perProject = isObject(json.projects)
    ? Object.fromEntries(Object.entries(json.projects).map(([dir, entry]) => [dir, isObject(entry) ? (entry.mcpServers ?? null) : null]))
    : {}
  return JSON.stringify({ top: json.mcpServers ?? null, perProject })
}

/**
 * Keys of settings.json that Claude Code writes by itself in a run that nobody steered: the answers to its own
 * prompts (realm's and those it migrates or clears), the renderer its trial keeps, model aliases its migrations
 * rewrite, and the display preferences it moves over from .claude.json (`theme`, `editorMode`, … its
 * "user-intent" migration) or that /config saves. None of them runs code or widens what the agent may do, so a
 * change to them is not reported; every other key is (hooks, permissions, env, apiKeyHelper, statusLine,
 * enabledPlugins, MCP settings, and any key this list does not know).
 */
const SETTINGS_BOOKKEEPING = new Set([
  '$schema',
  'skipDangerousModePermissionPrompt',
  'skipAutoPermissionPrompt',
  'tui',
  'model',
  'effortLevel',
  'fastMode',
  'advisorModel',
  'theme',
  'editorMode',
  'verbose',
  'preferredNotifChannel',
  'autoCompactEnabled',
  'autoScrollEnabled',
  'fileCheckpointingEnabled',
  'showTurnDuration',
  'showMessageTimestamps',
  'terminalProgressBarEnabled',
  'todoFeatureEnabled',
  'inputNeededNotifEnabled',
  'agentPushNotifEnabled',
  'syntaxHighlightingDisabled',
  'language',
  'feedbackDrafts',
  'autoUpdatesChannel',
  'minimumVersion',
])
/** `env` entries Claude Code writes itself: its auto-update migration sets DISABLE_AUTOUPDATER=1. */
const ENV_BOOKKEEPING: Record<string, string> = { DISABLE_AUTOUPDATER: '1' }

/** The settings keys the agent changed beyond Claude Code's own bookkeeping; undefined when either is not JSON. */
export function changedSettingsKeys(before: string | undefined, after: string | undefined): string[] | undefined {
  const old = before === undefined ? {} : parseObject(before)
  const now = after === undefined ? {} : parseObject(after)
  if (!old || !now) return undefined
  const keys = new Set([...Object.keys(old), ...Object.keys(now)])
  const changed: string[] = []
  for (const key of [...keys].sort()) {
    if (SETTINGS_BOOKKEEPING.has(key)) continue
    if (key === 'env') {
      if (changedEnv(old.env, now.env)) changed.push(key)
      continue
    }
    if (JSON.stringify(old[key]) !== JSON.stringify(now[key])) changed.push(key)
  }
  return changed
}

function changedEnv(before: unknown, after: unknown): boolean {
  const old = isObject(before) ? before : {}
  const now = isObject(after) ? after : {}
  for (const name of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if (JSON.stringify(old[name]) === JSON.stringify(now[name])) continue
    if (ENV_BOOKKEEPING[name] !== undefined && now[name] === ENV_BOOKKEEPING[name]) continue
    return true
  }
  return false
}

/** Text from the container, made safe for the user's terminal: printable ASCII only, bounded. */
const printable = (text: string, max = 200) => text.slice(0, max).replace(/[^\x20-\x7e]/g, '?')

/**
 * One line per configuration item the agent changed in its copy; none of it was kept. What Claude Code writes
 * by itself in any run is not the agent's doing and is left out: its state entries (STATE_ENTRIES, and the
 * container already leaves out the marketplace and built-in plugin bookkeeping in `plugins/`), and in settings.json the keys of
 * SETTINGS_BOOKKEEPING; a settings.json the agent changed beyond those is named with the keys it changed.
 */
export function configChangeLines(state: ClaudeRunState, seedText: string | undefined, seedSettingsText?: string): string[] {
  const lines: string[] = []
  for (const line of (state.changes ?? '').split('\n')) {
    const match = /^(changed|added|removed) ([^/\0]{1,200})$/.exec(line)
    if (!match || STATE_ENTRIES.has(match[2])) continue
    const [, verb, name] = match
    if (name === SETTINGS_FILE && verb !== 'removed') {
      // Without the file itself (a link, a FIFO, too big), all that can be said is that it changed.
      const keys = state.settings && changedSettingsKeys(seedSettingsText, state.settings.toString('utf8'))
      if (keys?.length === 0) continue
      if (keys) {
        const named = keys.slice(0, 8).map((key) => printable(key, 40))
        lines.push(`${verb} ~/.claude/${SETTINGS_FILE} (${named.join(', ')}${keys.length > 8 ? ', …' : ''})`)
        continue
      }
    }
    // The name came from the container: only printable characters reach the user's terminal.
    lines.push(`${verb} ~/.claude/${printable(name)}`)
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
  const seedSettingsText = readTextOrUndefined(path.join(seedDir, SETTINGS_FILE))
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
  return configChangeLines(state, seedText, seedSettingsText)
}
