import kleur from 'kleur'

import { UserError } from '../common/errors.js'
import { parsePatch } from '../patch/parse.js'
import { showPaged } from '../cli/pager.js'
import { renderDiff } from '../patch/render.js'
import { riskLines } from '../patch/risk.js'
import { loadSession } from '../session/store.js'
import { combinedPatch, lastRunPatch } from '../session/patches.js'
import { fileLines, statLine } from '../patch/summary.js'
import { say } from './steps/shared.js'

export interface DiffOptions {
  stat?: boolean
  last?: boolean
  color?: string
}

/** --color: always, never, or auto (a terminal on stdout and no NO_COLOR). */
export function useColor(option: string | undefined, env = process.env, tty = Boolean(process.stdout.isTTY)): boolean {
  const when = option ?? 'auto'
  if (when === 'always') return true
  if (when === 'never') return false
  if (when !== 'auto') throw new UserError(`--color must be always, never or auto (got '${when}')`)
  return tty && env.NO_COLOR === undefined && env.TERM !== 'dumb'
}

export async function diffCommand(name: string, options: DiffOptions): Promise<number> {
  kleur.enabled = useColor(options.color)
  // Read-only, so no lock: patch files are replaced atomically, and a diff is allowed while the agent runs.
  const session = await loadSession(name)
  const files = parsePatch(options.last ? await lastRunPatch(session) : await combinedPatch(session))
  if (files.length === 0) {
    say(`realm: ${options.last ? 'the latest run of' : 'session'} '${name}' changed nothing`)
    return 0
  }
  const label = options.last ? 'Latest run' : 'Session'
  const lines = [statLine(label, files), ...fileLines(files, Infinity), ...riskLines(files)]
  if (!options.stat) lines.push('', ...renderDiff(files))
  await showPaged(`${lines.join('\n')}\n`)
  return 0
}
