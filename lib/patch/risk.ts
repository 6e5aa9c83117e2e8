// Changed files that run code on their own — on the user's machine or in CI — and so need a careful look.
// A missed flag is worse than an extra one: when a rule cannot tell, it flags.
import kleur from 'kleur'

import type { FileChange, FilePatch } from './parse.js'

// Paths are matched in lower case: on macOS and Windows `.VSCode/tasks.json` *is* `.vscode/tasks.json`.
const RULES: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /(^|\/)\.(husky|githooks|lefthook)\/|(^|\/)(\.?lefthook(-local)?\.ya?ml|\.pre-commit-config\.yaml)$/, why: 'git hook' },
  { pattern: /(^|\/)\.gitattributes$/, why: 'git attributes (filters, diff drivers)' },
  { pattern: /^\.gitmodules$/, why: 'submodules' },
  { pattern: /(^|\/)\.vscode\/(tasks|settings|launch)\.json$/, why: 'editor tasks/settings' },
  { pattern: /(^|\/)\.devcontainer(\/|\.json$)/, why: 'dev container commands' },
  { pattern: /(^|\/)\.claude\/settings[^/]*\.json$|(^|\/)\.mcp\.json$/, why: 'agent settings' },
  { pattern: /^\.github\/(workflows|actions)\//, why: 'CI workflow' },
  {
    pattern:
      /(^|\/)\.gitlab-ci\.ya?ml$|^\.gitlab\/|^\.circleci\/|^jenkinsfile$|^\.travis\.yml$|^azure-pipelines\.yml$|^bitbucket-pipelines\.yml$|^\.buildkite\/|^\.drone\.yml$|^\.cirrus\.yml$|^appveyor\.yml$|^\.woodpecker(\.ya?ml$|\/)/,
    why: 'CI definition',
  },
  { pattern: /(^|\/)\.envrc$/, why: 'direnv script' },
  { pattern: /(^|\/)(gnu)?makefile$|\.mk$/, why: 'Makefile' },
  { pattern: /(^|\/)(\.npmrc|\.yarnrc(\.yml)?)$/, why: 'package manager config (can run code on install)' },
]

// All the rules in one pattern: a patch of 10,000 files tests each path once, not once per rule.
const ANY_RULE = new RegExp(RULES.map((r) => `(?:${r.pattern.source})`).join('|'))

// Top-level package.json keys that never hold scripts: a changed line with one of these keys is harmless even
// when the hunk does not show which object it is in.
const PLAIN_KEYS = new Set(['name', 'version', 'description', 'license', 'author', 'homepage', 'private', 'type', 'keywords'])

/** Whether a changed line of a package.json hunk may sit in "scripts", judged from the hunk's own lines. */
function inScripts(lines: string[], index: number): boolean {
  const line = lines[index].slice(1)
  const indent = line.search(/\S/)
  // The nearest line above with less indentation that opens an object is the changed line's enclosing key.
  for (let i = index - 1; i >= 0; i--) {
    const above = lines[i].slice(1)
    const aboveIndent = above.search(/\S/)
    if (aboveIndent < 0 || aboveIndent >= indent) continue
    const opener = /^\s*"([^"]*)"\s*:\s*\{/.exec(above)
    if (opener) return opener[1] === 'scripts'
    if (/^\s*\{\s*$/.test(above)) return false // the top-level object itself
  }
  const key = /^\s*"([^"]*)"\s*:/.exec(line)?.[1]
  return !(key && PLAIN_KEYS.has(key)) // cannot tell from the hunk: flag it
}

/** Whether `path` is a package manifest, the one kind of file whose flags depend on its text (see touchesScripts). */
export function isManifest(path: string): boolean {
  return /(^|\/)package\.json$/i.test(path)
}

/** package.json files whose "scripts" section the change touches (install scripts run on `npm install`). */
export function touchesScripts(file: FilePatch): boolean {
  if (!isManifest(file.path)) return false
  if (file.kind === 'added' || file.kind === 'deleted') return /"scripts"\s*:/.test(file.text)
  // A moved or copied manifest puts its scripts somewhere new, and a pure rename shows no content.
  if (file.kind === 'renamed' || file.kind === 'copied') return true
  const hunks = file.text
    .split(/^@@[^\n]*\n/m)
    .slice(1)
    .map((h) => h.split('\n').filter((l) => /^[ +-]/.test(l)))
  return hunks.some((lines) => lines.some((l, i) => /^[+-]/.test(l) && (/"scripts"\s*:/.test(l) || inScripts(lines, i))))
}

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
  if (isManifest(file.path) && touchesScripts({ ...file, text: text() })) flags.push({ path: file.path, why: 'package.json scripts' })
  return flags
}

function pathFlag(path: string, flags: RiskFlag[]): void {
  const lower = path.toLowerCase()
  const rule = ANY_RULE.test(lower) ? RULES.find((r) => r.pattern.test(lower)) : undefined
  if (rule) flags.push({ path, why: rule.why })
}

export function riskFlags(files: readonly FilePatch[]): RiskFlag[] {
  return files.flatMap(fileRiskFlags)
}

/** The warning for `flags`: nothing when there are none. */
export function flagLines(flags: readonly RiskFlag[]): string[] {
  if (flags.length === 0) return []
  return [
    kleur
      .red()
      .bold(
        `⚠ ${flags.length} change${flags.length === 1 ? '' : 's'} can run code on your machine or in CI — review before applying or pushing:`,
      ),
    ...flags.map((f) => kleur.red(`  ! ${f.path} (${f.why})`)),
  ]
}

export function riskLines(files: readonly FilePatch[]): string[] {
  return flagLines(riskFlags(files))
}
