// Changed files that run code on their own — on the user's machine or in CI — or steer the user's own agent, and
// so need a careful look. A missed flag is worse than an extra one: when a rule cannot tell, it flags. Which paths
// are risky is risk-rules.ts's; which parts of a manifest are, manifest-risk.ts's.
import kleur from 'kleur'

import { isManifest, manifestWhy } from './manifest-risk.js'
import type { FileChange, FilePatch } from './parse.js'
import { pathWhy, WHY_ORDER } from './risk-rules.js'

export interface RiskFlag {
  path: string
  why: string
}

/** The flags of one file's change. */
export function fileRiskFlags(file: FilePatch): RiskFlag[] {
  return changeRiskFlags(file, () => file.text)
}

/** The flags of one file's change; `text` gives its section's text, and is asked for only for a manifest. */
export function changeRiskFlags(file: FileChange, text: () => string): RiskFlag[] {
  const flags: RiskFlag[] = []
  pathFlag(file.oldPath, flags)
  if (file.path !== file.oldPath) pathFlag(file.path, flags)
  if (isManifest(file.path) || isManifest(file.oldPath)) {
    const why = manifestWhy({ ...file, text: text() })
    if (why) flags.push({ path: file.path, why })
  }
  return flags
}

function pathFlag(path: string, flags: RiskFlag[]): void {
  const why = pathWhy(path)
  if (why) flags.push({ path, why })
}

export function riskFlags(files: readonly FilePatch[]): RiskFlag[] {
  return files.flatMap(fileRiskFlags)
}

/** The warning for `flags`, grouped by class (agent files first, then git, editors…): nothing when there are none. */
export function flagLines(flags: readonly RiskFlag[]): string[] {
  if (flags.length === 0) return []
  // Stable: within a class, the patch's order. A reason these rules do not give (from a stored summary) goes last.
  const order = (f: RiskFlag) => WHY_ORDER.get(f.why) ?? WHY_ORDER.size
  const grouped = flags.map((f, i) => ({ f, i, o: order(f) })).sort((a, b) => a.o - b.o || a.i - b.i)
  return [
    kleur
      .red()
      .bold(
        `⚠ ${flags.length} change${flags.length === 1 ? '' : 's'} can run code on your machine or in CI — review before applying or pushing:`,
      ),
    ...grouped.map(({ f }) => kleur.red(`  ! ${f.path} (${f.why})`)),
  ]
}

export function riskLines(files: readonly FilePatch[]): string[] {
  return flagLines(riskFlags(files))
}
