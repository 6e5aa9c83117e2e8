// What the agent gets from the host: credentials by name, the user's git identity, and the terminal type. Claude Code's configuration is claude-config.ts's business.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { claudeConfigPaths, keptLoginFile } from './claude-config.js'
import { readTextOrUndefined } from '../common/files.js'
import { realmHome } from '../common/paths.js'

/**
 * Passed by name only (`-e NAME`), so their values never appear in `ps` output. The credentials and
 * ANTHROPIC_BASE_URL are not among them: they stay on the host, with the broker (net/broker.ts), and the
 * container gets placeholders and the broker's address instead (net/egress.ts).
 */
export const PASSED_ENV = ['ANTHROPIC_MODEL'] as const

export function passedEnv(env: NodeJS.ProcessEnv, tty: boolean): string[] {
  const names: string[] = PASSED_ENV.filter((name) => env[name])
  // Without a terminal nothing is drawn, and a TERM would only invite colour codes into piped output.
  if (tty && env.TERM) names.push('TERM')
  return names
}

/** Who the agent's commits are by when the user's configuration names nobody. */
export const AGENT_IDENTITY = { name: 'realm agent', email: 'agent@realm.invalid' }

/** Whether the agent will find any credential: an environment variable or a login stored on the host. */
export function hasCredential(env: NodeJS.ProcessEnv, home = os.homedir()): boolean {
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_AUTH_TOKEN || env.CLAUDE_CODE_OAUTH_TOKEN) return true
  const { dir, json } = claudeConfigPaths(home, env)
  // A Claude subscription login on Linux (macOS keeps it in the Keychain, out of a container's reach), or one
  // made in an earlier run, which realm keeps.
  if (fs.existsSync(path.join(dir, '.credentials.json')) || fs.existsSync(keptLoginFile(env))) return true
  // An API key helper configured in the user's settings.
  if (jsonField(path.join(dir, 'settings.json'), 'apiKeyHelper')) return true
  // An Anthropic Console key stored by `claude` login, in the host's or realm's .claude.json.
  return Boolean(jsonField(json, 'primaryApiKey') || jsonField(path.join(realmHome(env), 'claude', '.claude.json'), 'primaryApiKey'))
}

/** What to tell a user who has no credential; it never blocks (a run without a terminal simply fails to log in). */
export const NO_CREDENTIAL_HINT =
  'realm: no Claude credential found (ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or a login in ~/.claude) — ' +
  'type /login at the agent prompt, and realm keeps that login for later runs; on macOS a login lives in the Keychain, ' +
  'which a container cannot read: export ANTHROPIC_API_KEY, or run `claude setup-token` and export CLAUDE_CODE_OAUTH_TOKEN'

function jsonField(file: string, field: string): unknown {
  const text = readTextOrUndefined(file)
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text)
    return typeof value === 'object' && value !== null ? value[field] : undefined
  } catch {
    return undefined
  }
}
