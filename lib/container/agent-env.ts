// What the agent gets from the host: credentials by name, the user's git identity, Claude Code's own
// configuration (login, settings, onboarding state, history) and the terminal type.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { HOME_DIR, WORKSPACE_DIR, type Mount } from './plan.js'
import { realmHome } from '../common/paths.js'

/** Passed by name only (`-e NAME`), so their values never appear in `ps` output. */
export const PASSED_ENV = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_MODEL',
] as const

/** Where the container finds realm's copy of Claude Code's ~/.claude.json (see claudeJsonState). */
export const CLAUDE_STATE_DIR = '/realm/claude-state'

export function passedEnv(env: NodeJS.ProcessEnv, tty: boolean): string[] {
  const names: string[] = PASSED_ENV.filter((name) => env[name])
  // Without a terminal nothing is drawn, and a TERM would only invite colour codes into piped output.
  if (tty && env.TERM) names.push('TERM')
  return names
}

export function identityEnv(identity: { name?: string; email?: string }): Record<string, string> {
  const name = identity.name ?? 'realm agent'
  const email = identity.email ?? 'agent@realm.invalid'
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email }
}

/** The host's Claude Code configuration: the directory, and the .claude.json beside it (or inside it). */
export function claudeConfigPaths(home = os.homedir(), env: NodeJS.ProcessEnv = process.env): { dir: string; json: string } {
  // Claude Code's documented override: with CLAUDE_CONFIG_DIR, .claude.json lives inside that directory.
  if (env.CLAUDE_CONFIG_DIR) {
    const dir = path.resolve(home, env.CLAUDE_CONFIG_DIR)
    return { dir, json: path.join(dir, '.claude.json') }
  }
  return { dir: path.join(home, '.claude'), json: path.join(home, '.claude.json') }
}

/**
 * Mounts that make Claude Code's state outlive the container.
 *
 * - The config directory (login on Linux, settings, history) is mounted read-write: Claude Code's atomic
 *   writes (temp file + rename) happen inside it, which a directory bind mount allows. It is created when
 *   missing, so a first login inside the container is kept.
 * - ~/.claude.json cannot be mounted as a file: Claude Code replaces it by renaming a temp file onto it, and
 *   rename onto a bind-mounted file fails (EBUSY). Its fallback, rewriting the file in place, would leave the
 *   host's file truncated if the container died mid-write, and lock files in the container's own HOME would
 *   not keep a host `claude` out. So realm keeps its own copy in a directory of its own, seeded from the
 *   host's file (claudeJsonState), and the setup script links ~/.claude.json to it inside the container.
 *   The host's ~/.claude.json is only ever read.
 */
export function claudeMounts(home = os.homedir(), env: NodeJS.ProcessEnv = process.env): Mount[] {
  const { dir } = claudeConfigPaths(home, env)
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  // Inside the container both land where Claude Code looks by default, whatever the host's layout.
  return [
    { source: dir, target: `${HOME_DIR}/.claude`, readonly: false },
    { source: claudeJsonState(home, env), target: CLAUDE_STATE_DIR, readonly: false },
  ]
}

/**
 * realm's directory holding its copy of .claude.json, brought up to date from the host's file first.
 *
 * When the host's file changed since realm last saw it (the user logged in or ran `claude` on the host), it
 * is taken as the new base, keeping what only realm's runs wrote: top-level keys the host file lacks, the
 * per-project entries of paths inside the container (trust for /workspace, say) and API keys approved there. Every write is a temp file
 * plus rename in realm's own directory, so a crash leaves either the old or the new copy.
 */
export function claudeJsonState(home = os.homedir(), env: NodeJS.ProcessEnv = process.env): string {
  const stateDir = path.join(realmHome(env), 'claude')
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const copy = path.join(stateDir, '.claude.json')
  const seen = path.join(stateDir, 'host-mtime')
  const host = claudeConfigPaths(home, env).json

  const hostStat = statOrUndefined(host)
  const copyExists = statOrUndefined(copy) !== undefined
  const lastSeen = readOrUndefined(seen)?.trim()
  if (hostStat && (!copyExists || lastSeen !== String(hostStat.mtimeMs))) {
    const hostText = readOrUndefined(host)
    if (hostText !== undefined) {
      const merged = copyExists ? mergeClaudeJson(hostText, readOrUndefined(copy) ?? '') : hostText
      writeAtomic(copy, merged)
      writeAtomic(seen, `${hostStat.mtimeMs}\n`)
    }
  }
  // Claude Code treats a missing file as a first start; an empty object is the same, and gives the link a target.
  if (!fs.existsSync(copy)) writeAtomic(copy, '{}\n')
  return stateDir
}

/** The host's .claude.json as the base, plus what realm's runs added that the host does not have. */
export function mergeClaudeJson(hostText: string, realmText: string): string {
  let hostJson: Record<string, unknown>
  let realmJson: Record<string, unknown>
  try {
    hostJson = JSON.parse(hostText)
    realmJson = JSON.parse(realmText)
  } catch {
    return hostText // unreadable on either side: the host's file, unchanged, is the safe choice
  }
  if (!isObject(hostJson) || !isObject(realmJson)) return hostText
  const merged: Record<string, unknown> = { ...hostJson }
  for (const [key, value] of Object.entries(realmJson)) if (!(key in merged)) merged[key] = value
  if (isObject(realmJson.projects)) {
    const projects: Record<string, unknown> = isObject(hostJson.projects) ? { ...hostJson.projects } : {}
    for (const [dir, value] of Object.entries(realmJson.projects)) {
      if (dir === WORKSPACE_DIR || dir.startsWith(`${WORKSPACE_DIR}/`)) projects[dir] = value
    }
    merged.projects = projects
  }
  // The answer to "use this API key?" given inside a container must survive a re-seed from the host.
  const hostKeys = hostJson.customApiKeyResponses
  const realmKeys = realmJson.customApiKeyResponses
  if (isObject(hostKeys) && isObject(realmKeys)) {
    const union = (key: string) => [...new Set([hostKeys[key], realmKeys[key]].flatMap((v) => (Array.isArray(v) ? v : [])))]
    merged.customApiKeyResponses = { ...hostKeys, approved: union('approved'), rejected: union('rejected') }
  }
  return `${JSON.stringify(merged, null, 2)}\n`
}

/** Whether the agent will find any credential: an environment variable or a login stored on the host. */
export function hasCredential(env: NodeJS.ProcessEnv, home = os.homedir()): boolean {
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_AUTH_TOKEN || env.CLAUDE_CODE_OAUTH_TOKEN) return true
  const { dir, json } = claudeConfigPaths(home, env)
  // A Claude subscription login on Linux (macOS keeps it in the Keychain, out of a container's reach).
  if (fs.existsSync(path.join(dir, '.credentials.json'))) return true
  // An API key helper configured in the user's settings.
  if (jsonField(path.join(dir, 'settings.json'), 'apiKeyHelper')) return true
  // An Anthropic Console key stored by `claude` login, in the host's or realm's .claude.json.
  return Boolean(jsonField(json, 'primaryApiKey') || jsonField(path.join(realmHome(env), 'claude', '.claude.json'), 'primaryApiKey'))
}

/** What to tell a user who has no credential; it never blocks (a run without a terminal simply fails to log in). */
export const NO_CREDENTIAL_HINT =
  'realm: no Claude credential found (ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or a login in ~/.claude) — ' +
  'the agent will ask you to log in, and realm keeps that login for later runs; on macOS a login lives in the Keychain, ' +
  'which a container cannot read: export ANTHROPIC_API_KEY, or run `claude setup-token` and export CLAUDE_CODE_OAUTH_TOKEN'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    const stat = fs.statSync(file)
    return stat.isFile() ? stat : undefined
  } catch {
    return undefined
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

function jsonField(file: string, field: string): unknown {
  const text = readOrUndefined(file)
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text)
    return isObject(value) ? value[field] : undefined
  } catch {
    return undefined
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, text, { mode: 0o600 })
  fs.renameSync(tmp, file)
}

/**
 * `docker build` arguments for the default image on this machine, the same ones install.sh passes:
 * REALM_BASE_IMAGE as the base, and the certificate authorities the machine added itself (a TLS-inspecting
 * proxy's), without which npm inside the build cannot reach the registry.
 */
export function defaultImageBuildArgs(env: NodeJS.ProcessEnv = process.env, caDir = '/usr/local/share/ca-certificates'): string[] {
  const args: string[] = []
  if (env.REALM_BASE_IMAGE) args.push('--build-arg', `BASE_IMAGE=${env.REALM_BASE_IMAGE}`)
  let files: string[] = []
  try {
    files = fs
      .readdirSync(caDir)
      .filter((f) => f.endsWith('.crt'))
      .sort()
  } catch {
    // no local authorities
  }
  const pem = files
    .map((f) => readOrUndefined(path.join(caDir, f)) ?? '')
    .filter(Boolean)
    .join('\n')
  if (pem) args.push('--build-arg', `EXTRA_CA_CERTS=${pem}`)
  return args
}
