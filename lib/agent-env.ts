// What the agent gets from the host: credentials by name, the user's git identity, Claude Code's own
// configuration (login, settings, onboarding state, history) and the terminal type.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { HOME_DIR, type Mount } from './docker-plan.js'

/** Passed by name only (`-e NAME`), so their values never appear in `ps` output. */
export const PASSED_ENV = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL'] as const

export function passedEnv(env: NodeJS.ProcessEnv, tty: boolean): string[] {
  const names: string[] = PASSED_ENV.filter((name) => env[name])
  if (tty && env.TERM) names.push('TERM')
  return names
}

export function identityEnv(identity: { name?: string; email?: string }): Record<string, string> {
  const name = identity.name ?? 'realm agent'
  const email = identity.email ?? 'agent@realm.invalid'
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email }
}

/** The host's ~/.claude directory and ~/.claude.json, when they exist, mounted into the agent's HOME. */
export function claudeMounts(home = os.homedir()): Mount[] {
  const mounts: Mount[] = []
  const dir = path.join(home, '.claude')
  if (fs.existsSync(dir)) mounts.push({ source: dir, target: `${HOME_DIR}/.claude`, readonly: false })
  const file = path.join(home, '.claude.json')
  if (fs.existsSync(file)) mounts.push({ source: file, target: `${HOME_DIR}/.claude.json`, readonly: false })
  return mounts
}

/** Whether the agent will find any credential: an environment variable or a login stored in ~/.claude. */
export function hasCredential(env: NodeJS.ProcessEnv, home = os.homedir()): boolean {
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_AUTH_TOKEN || env.CLAUDE_CODE_OAUTH_TOKEN) return true
  return fs.existsSync(path.join(home, '.claude', '.credentials.json'))
}
