// What realm reads of the user's git configuration: the identity for commits and the global excludes file.
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { runProgram } from '../common/spawn.js'

/** What the container needs from the user's git configuration. */
export interface GitSettings {
  /** for commits the agent and realm make */
  identity: { name?: string; email?: string }
  /** the global excludes file's content: the container cannot see it, but it decides what "untracked" means */
  excludes: string
}

/** Reads `git config -z --get-regexp` output ("key\nvalue\0" records; the last value of a key wins). */
export function parseConfigList(text: string): Map<string, string> {
  const values = new Map<string, string>()
  for (const record of text.split('\0')) {
    const newline = record.indexOf('\n')
    if (newline > 0) values.set(record.slice(0, newline).toLowerCase(), record.slice(newline + 1))
  }
  return values
}

export async function readGitSettings(root: string, home = os.homedir(), env = process.env): Promise<GitSettings> {
  // One git process for all three keys: every process start is time the user waits before the agent starts.
  const result = await runProgram('git', ['config', '-z', '--get-regexp', '^(user\\.name|user\\.email|core\\.excludesfile)$'], {
    cwd: root,
  })
  const config = parseConfigList(result.exitCode === 0 ? result.stdout : '')
  const name = config.get('user.name')?.trim() || undefined
  const email = config.get('user.email')?.trim() || undefined
  const configured = config.get('core.excludesfile')?.trim()
  // git expands a leading ~/ in path settings; its own default is $XDG_CONFIG_HOME/git/ignore.
  const file = configured
    ? configured.replace(/^~(?=\/|$)/, home)
    : path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'git', 'ignore')
  const excludes = await fsp.readFile(file, 'utf8').catch(() => '')
  return { identity: { name, email }, excludes }
}

/** Author and committer for a commit; `fallback` fills in what the configuration lacks. */
export function identityEnv(identity: GitSettings['identity'], fallback?: { name: string; email: string }): Record<string, string> {
  const name = identity.name ?? fallback?.name ?? ''
  const email = identity.email ?? fallback?.email ?? ''
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email }
}
