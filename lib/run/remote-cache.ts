// The project's objects on a remote engine: a volume per project (container/remote-plan.ts cacheVolume), and on
// the host realm's record of the commits it sent there, per engine, so that a later run sends only the objects
// that are new since (a pack made against those commits). The record is only a hint: the container checks that
// the cache holds every commit the pack was made against, and says so when it does not (the volume was removed),
// and realm then forgets the record and sends everything. Only realm's own container writes the cache, after
// the run, from the pack realm made on the host.
import fs from 'node:fs'
import path from 'node:path'

import { writeFileAtomicSync } from '../common/files.js'
import { realmHome } from '../common/paths.js'
import { privateDirSync } from '../common/private.js'
import { trace } from '../common/trace.js'
import { planCacheUpdate } from '../container/remote-plan.js'
import { runWithInput } from '../container/remote.js'

/** The record keeps the last few commits sent: a session's runs mostly start from one or two. */
const KEPT = 16

function recordFile(engineId: string, volume: string): string {
  return path.join(realmHome(), 'engines', `${engineId.replace(/[^A-Za-z0-9]/g, '_')}.${volume}`)
}

/** The commits realm recorded as in the engine's cache of the project, newest first. */
export function cachedCommits(engineId: string, volume: string): string[] {
  try {
    return fs
      .readFileSync(recordFile(engineId, volume), 'utf8')
      .split('\n')
      .filter((line) => /^[0-9a-f]{40,64}$/.test(line))
  } catch {
    return []
  }
}

export function forgetCache(engineId: string, volume: string): void {
  fs.rmSync(recordFile(engineId, volume), { force: true })
}

function remember(engineId: string, volume: string, commit: string): void {
  const file = recordFile(engineId, volume)
  privateDirSync(path.dirname(file))
  const commits = [commit, ...cachedCommits(engineId, volume).filter((c) => c !== commit)].slice(0, KEPT)
  writeFileAtomicSync(file, `${commits.join('\n')}\n`)
}

/**
 * Adds the pack to the engine's cache of the project, then records `commit` as there. A failure only costs the
 * next run a larger pack, so it is traced, not reported.
 */
export async function updateCache(
  engineId: string,
  image: string,
  volume: string,
  pack: string | undefined,
  commit: string,
): Promise<void> {
  if (pack && !(await runWithInput(planCacheUpdate(image, volume), pack))) {
    trace('cache update failed')
    return
  }
  remember(engineId, volume, commit)
  trace('cache updated')
}
