// A session as it lies on disk under REALM_HOME, read independently of realm's own code: its files, and the
// tree its patches make when git applies them in order on the commit it started from.
import fs from 'node:fs/promises'
import path from 'node:path'

import { git, treeSnapshot } from './repo.js'
import { inTempDir } from './temp.js'

/** The patches of a session, in the order they apply (design.md, invariant 1). */
const PATCHES = ['baseline.patch', 'base.patch', 'changes.patch']

/** Attributes that would rewrite content on checkout (filters, eol conversion) or hide it from a diff, off. */
const NEUTRAL_ATTRIBUTES = '* -text -filter !diff\n'

export function sessionFile(home: string, name: string, file: string): string {
  return path.join(home, 'sessions', name, file)
}

/**
 * Clones `project` into `into`, checks out the session's base commit byte for byte and applies the session's
 * non-empty patches with plain `git apply --binary`. Returns `into`.
 */
export async function replaySession(home: string, name: string, project: string, into: string): Promise<string> {
  const meta = JSON.parse(await fs.readFile(sessionFile(home, name, 'session.json'), 'utf8')) as { baseCommit: string }
  await git(path.dirname(into), 'clone', '-q', '--no-checkout', project, into)
  await fs.writeFile(path.join(into, '.git', 'info', 'attributes'), NEUTRAL_ATTRIBUTES)
  await git(into, 'checkout', '-q', meta.baseCommit)
  for (const file of PATCHES) {
    const p = sessionFile(home, name, file)
    if ((await fs.stat(p).catch(() => undefined))?.size) await git(into, 'apply', '--binary', p)
  }
  return into
}

/**
 * The session's final tree, computed independently (see replaySession), as treeSnapshot describes it. The
 * replay is made in `scratch`, or in a temp dir removed afterwards.
 */
export async function sessionTree(home: string, name: string, project: string, scratch?: string): Promise<Record<string, string>> {
  const replay = async (into: string) => treeSnapshot(await replaySession(home, name, project, into))
  return scratch ? replay(scratch) : inTempDir((dir) => replay(path.join(dir, 'replay')))
}

/** What realm left in its scratch space ($REALM_HOME/tmp): nothing, once a command is over. */
export async function scratchLeft(home: string): Promise<string[]> {
  return fs.readdir(path.join(home, 'tmp')).catch(() => [])
}
