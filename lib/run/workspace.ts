// Choosing how the agent's workspace is made: an overlay on the project (constant time, the default where
// the engine supports it) or a fresh copy inside the container (the fallback).
import fs from 'node:fs/promises'
import path from 'node:path'

import { overlayPathProblem } from '../container/plan.js'
import { UserError } from '../common/errors.js'
import { readTextOrUndefined } from '../common/files.js'
import { realmHome } from '../common/paths.js'
import { PRIVATE_FILE_MODE, privateDir } from '../common/private.js'

export type Strategy = 'overlay' | 'copy'

export interface StrategyChoice {
  strategy: Strategy
  forced: boolean
  /** why the overlay is not used, when it is not */
  reason?: string
}

function unsupportedMarker(): string {
  return path.join(realmHome(), 'overlay-unsupported')
}

export function parseStrategy(value: string | undefined, source: string): Strategy | undefined {
  if (value === undefined || value === '') return undefined
  if (value === 'overlay' || value === 'copy') return value
  throw new UserError(`${source} must be 'overlay' or 'copy', not '${value}'`)
}

export async function chooseStrategy(forced: Strategy | undefined, paths: string[]): Promise<StrategyChoice> {
  if (forced) return { strategy: forced, forced: true }
  for (const p of paths) {
    const problem = overlayPathProblem(p)
    if (problem) return { strategy: 'copy', forced: false, reason: problem }
  }
  const marker = readTextOrUndefined(unsupportedMarker())
  if (marker !== undefined)
    return { strategy: 'copy', forced: false, reason: marker.trim() || 'the Docker engine cannot mount overlay volumes' }
  return { strategy: 'overlay', forced: false }
}

/** Remembers that this engine cannot mount overlays, so the next runs go straight to the copy. */
export async function rememberOverlayUnsupported(reason: string): Promise<void> {
  await privateDir(realmHome())
  await fs.writeFile(unsupportedMarker(), `${reason}\n`, { mode: PRIVATE_FILE_MODE })
}
