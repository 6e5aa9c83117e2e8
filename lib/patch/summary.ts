// Rendering a run's result for people: what changed in this run and in the whole session, and what next.
import kleur from 'kleur'

import { describePath, type FileChange, patchStat } from './parse.js'
import type { SaveResult } from '../run/save.js'

const KIND_LETTER = { added: 'A', deleted: 'D', modified: 'M', renamed: 'R', copied: 'C' } as const

export function counts(file: FileChange): string {
  if (file.binary) return 'binary'
  const parts: string[] = []
  if (file.added || !file.removed) parts.push(kleur.green(`+${file.added}`))
  if (file.removed) parts.push(kleur.red(`-${file.removed}`))
  if (file.oldMode && file.newMode && file.oldMode !== file.newMode) parts.push(`mode ${file.oldMode} → ${file.newMode}`)
  return parts.join(' ')
}

export function statLine(label: string, files: readonly FileChange[]): string {
  const stat = patchStat(files)
  if (stat.files === 0) return `${label}: no changes`
  return `${label}: ${stat.files} file${stat.files === 1 ? '' : 's'} changed, ${kleur.green(`+${stat.added}`)} ${kleur.red(`-${stat.removed}`)}`
}

export function fileLines(files: readonly FileChange[], limit = 30): string[] {
  const lines = files.slice(0, limit).map((f) => `  ${KIND_LETTER[f.kind]} ${describePath(f)}  ${counts(f)}`)
  if (files.length > limit) lines.push(`  … and ${files.length - limit} more (realm diff --stat)`)
  return lines
}

export interface RunSummaryInput {
  name: string
  exitCode: number
  /** how the workspace was made, and whether ignored files were in it */
  workspace: string
  save: SaveResult
  run: readonly FileChange[]
  session: readonly FileChange[]
  riskLines: string[]
}

export function renderRunSummary(input: RunSummaryInput): string[] {
  const { name, save } = input
  const lines: string[] = []
  lines.push(kleur.bold(`realm: session '${name}' — agent exited ${input.exitCode}, workspace: ${input.workspace}`))
  if (save.captureFailed)
    lines.push(
      kleur.red(
        'realm: the agent finished but its changes could not be captured (is the disk holding $REALM_HOME full?); the session keeps what it had before this run',
      ),
    )
  else if (save.status === 'recovered')
    lines.push(kleur.yellow('realm: the run did not finish; its last snapshot was saved (at most a few seconds of work may be missing)'))
  if (save.status === 'unverified') {
    lines.push(
      kleur.red(
        `realm: this run's patch does not apply to the session (${save.problem}); it was kept at ${save.keptAt} and the session's earlier patches are unchanged`,
      ),
    )
    return lines
  }
  if (save.hostEdits.length) {
    lines.push(
      kleur.yellow(
        `realm: left out ${save.hostEdits.length} file${save.hostEdits.length === 1 ? '' : 's'} changed on the host during the run (not by the agent): ${save.hostEdits.slice(0, 5).join(', ')}${save.hostEdits.length > 5 ? ', …' : ''}`,
      ),
    )
  }
  lines.push(statLine('This run', input.run))
  lines.push(...fileLines(input.run))
  lines.push(statLine('Session', input.session))
  lines.push(...input.riskLines)
  if (input.session.length) {
    lines.push(`Review: realm diff ${name}   Apply: realm apply ${name}   Push: realm push ${name}   Continue: realm resume ${name}`)
  } else {
    lines.push(`Continue: realm resume ${name}   Remove: realm remove ${name}`)
  }
  return lines
}
