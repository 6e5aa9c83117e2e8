// Each session keeps its own Claude Code conversations (in its claude-history/, mounted into its runs only), so
// `claude --continue` in a session picks up that session's last conversation, never another's. A resume
// continues it by default, so the agent remembers what it did; `--fresh` starts a new one.
import fs from 'node:fs'
import path from 'node:path'

import type { RunMode } from './protocol.js'

/** Claude Code's options that already say which conversation to use. */
const CHOOSES_CONVERSATION = new Set(['-c', '--continue', '-r', '--resume', '--session-id'])

function isRealDirectory(dir: string): boolean {
  // lstat: the directory was written by a container, and a link there must not lead the host anywhere.
  try {
    return fs.lstatSync(dir).isDirectory()
  } catch {
    return false
  }
}

function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}

/**
 * Whether the session's history holds a conversation (a transcript under projects/<key>/). Synchronous: a few
 * directory reads on the way to the run's container.
 */
export async function hasConversation(historyDir: string): Promise<boolean> {
  const projects = path.join(historyDir, 'projects')
  if (!isRealDirectory(projects)) return false
  for (const key of entries(projects)) {
    const dir = path.join(projects, key)
    if (isRealDirectory(dir) && entries(dir).some((name) => name.endsWith('.jsonl'))) return true
  }
  return false
}

/** The agent's arguments, with `--continue` first when a resume should continue the session's conversation. */
export function withConversation(agentArgs: string[], options: { mode: RunMode; fresh: boolean; hasConversation: boolean }): string[] {
  if (options.mode !== 'resume' || options.fresh || !options.hasConversation) return agentArgs
  if (agentArgs.some((arg) => CHOOSES_CONVERSATION.has(arg.split('=')[0]))) return agentArgs
  return ['--continue', ...agentArgs]
}
