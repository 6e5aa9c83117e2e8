// An overlay shows the user's own edits during a run to the agent, but they never enter the patch; the run
// summary names them. They are found after the run, on the host, by comparing the project with the index the
// entrypoint took of it at the start (lower.index), less the paths the container itself wrote (agent-paths).
import fs from 'node:fs/promises'
import path from 'node:path'

import { pathExists } from '../common/files.js'
import { git } from '../git/repo.js'

function paths(text: string): string[] {
  return text.split('\0').filter(Boolean)
}

/** Paths changed on the host during an overlay run and left out of its patch, sorted; [] when unknown. */
export async function hostEdits(root: string, runDir: string): Promise<string[]> {
  // Only ever a note in the summary: not knowing must never stop the run from being saved.
  return find(root, runDir).catch(() => [])
}

async function find(root: string, runDir: string): Promise<string[]> {
  const index = path.join(runDir, 'lower.index')
  if (!(await pathExists(index))) return []
  // Read-only: the index is realm's copy, and no optional lock or fsmonitor hook may touch the repository.
  const env = { GIT_INDEX_FILE: index, GIT_OPTIONAL_LOCKS: '0' }
  const settings = ['-c', 'core.fsmonitor=false', '-c', `core.excludesFile=${path.join(runDir, 'global-excludes')}`]
  const read = async (args: string[]) =>
    String((await git(root, [...settings, ...args], { env, stripFinalNewline: false, reject: false })).stdout)
  const [changed, added, written] = await Promise.all([
    read(['diff-files', '--name-only', '-z']),
    read(['ls-files', '-z', '--others', '--exclude-standard']),
    fs.readFile(path.join(runDir, 'agent-paths'), 'utf8').catch(() => ''),
  ])
  const agent = new Set(paths(written))
  return [...new Set([...paths(changed), ...paths(added)])].filter((p) => !agent.has(p)).sort()
}
