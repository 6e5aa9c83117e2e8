// Changed files that run code on their own — on the user's machine or in CI — and so need a careful look.
// A missed flag is worse than an extra one: when a rule cannot tell, it flags.
import kleur from 'kleur'

import type { FilePatch } from './parse.js'

// Paths are matched in lower case: on macOS and Windows `.VSCode/tasks.json` *is* `.vscode/tasks.json`.
const RULES: Array<{ test: (path: string) => boolean; why: string }> = [
  {
    test: (p) => /(^|\/)\.(husky|githooks|lefthook)\//.test(p) || /(^|\/)(\.?lefthook(-local)?\.ya?ml|\.pre-commit-config\.yaml)$/.test(p),
    why: 'git hook',
  },
  { test: (p) => /(^|\/)\.gitattributes$/.test(p), why: 'git attributes (filters, diff drivers)' },
  { test: (p) => p === '.gitmodules', why: 'submodules' },
  { test: (p) => /(^|\/)\.vscode\/(tasks|settings|launch)\.json$/.test(p), why: 'editor tasks/settings' },
  { test: (p) => /(^|\/)\.devcontainer(\/|\.json$)/.test(p), why: 'dev container commands' },
  { test: (p) => /(^|\/)\.claude\/settings[^/]*\.json$/.test(p) || /(^|\/)\.mcp\.json$/.test(p), why: 'agent settings' },
  { test: (p) => p.startsWith('.github/workflows/') || p.startsWith('.github/actions/'), why: 'CI workflow' },
  {
    test: (p) =>
      /(^|\/)\.gitlab-ci\.ya?ml$/.test(p) ||
      p.startsWith('.gitlab/') ||
      p.startsWith('.circleci/') ||
      p === 'jenkinsfile' ||
      p === '.travis.yml' ||
      p === 'azure-pipelines.yml' ||
      p === 'bitbucket-pipelines.yml' ||
      p.startsWith('.buildkite/') ||
      p === '.drone.yml' ||
      p === '.cirrus.yml' ||
      p === 'appveyor.yml' ||
      /^\.woodpecker(\.ya?ml$|\/)/.test(p),
    why: 'CI definition',
  },
  { test: (p) => /(^|\/)\.envrc$/.test(p), why: 'direnv script' },
  { test: (p) => /(^|\/)(gnu)?makefile$/.test(p) || p.endsWith('.mk'), why: 'Makefile' },
  { test: (p) => /(^|\/)(\.npmrc|\.yarnrc(\.yml)?)$/.test(p), why: 'package manager config (can run code on install)' },
]

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

/** package.json files whose "scripts" section the change touches (install scripts run on `npm install`). */
export function touchesScripts(file: FilePatch): boolean {
  if (!/(^|\/)package\.json$/i.test(file.path)) return false
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

export function riskFlags(files: FilePatch[]): RiskFlag[] {
  const flags: RiskFlag[] = []
  for (const file of files) {
    for (const p of new Set([file.oldPath, file.path])) {
      const rule = RULES.find((r) => r.test(p.toLowerCase()))
      if (rule) flags.push({ path: p, why: rule.why })
    }
    if (touchesScripts(file)) flags.push({ path: file.path, why: 'package.json scripts' })
  }
  return flags
}

export function riskLines(files: FilePatch[]): string[] {
  const flags = riskFlags(files)
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
