// An overlay shows the user's own edits during a run to the agent, but they never enter the patch; the run
// summary names them. They are found after the run, on the host, by comparing the project with the index the
// entrypoint took of it at the start (lower.index), less the paths the container itself wrote (agent-paths).
// Both come from the output directory: git reads only realm's private copy of the index (see outputs.ts).
import { git } from '../git/exec.js'

export interface HostEditsInput {
  /** realm's private copy of lower.index; undefined when the run had none */
  index?: string
  /** the paths the container wrote */
  agentPaths: readonly string[]
  /** realm's own copy of the excludes file the container was given */
  excludesFile: string
}

function paths(text: string): string[] {
  return text.split('\0').filter(Boolean)
}

/** Paths changed on the host during an overlay run and left out of its patch, sorted; [] when unknown. */
export async function hostEdits(root: string, input: HostEditsInput): Promise<string[]> {
  // Only ever a note in the summary: not knowing must never stop the run from being saved.
  return find(root, input).catch(() => [])
}

async function find(root: string, { index, agentPaths, excludesFile }: HostEditsInput): Promise<string[]> {
  if (!index) return []
  // Read-only: the index is realm's copy, and no optional lock or fsmonitor hook may touch the repository.
  const env = { GIT_INDEX_FILE: index, GIT_OPTIONAL_LOCKS: '0' }
  const settings = ['-c', 'core.fsmonitor=false', '-c', `core.excludesFile=${excludesFile}`]
  const read = async (args: string[]) =>
    String((await git(root, [...settings, ...args], { env, stripFinalNewline: false, reject: false })).stdout)
  const [changed, added] = await Promise.all([
    read(['diff-files', '--name-only', '-z']),
    read(['ls-files', '-z', '--others', '--exclude-standard']),
  ])
  const agent = new Set(agentPaths)
  return [...new Set([...paths(changed), ...paths(added)])].filter((p) => !agent.has(p)).sort()
}
