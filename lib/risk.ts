// Changed files that run code on their own — on the user's machine or in CI — and so need a careful look.
import kleur from 'kleur'

import type { FilePatch } from './patch.js'

const RULES: Array<{ test: (path: string) => boolean; why: string }> = [
  { test: (p) => /(^|\/)\.(husky|githooks)\//.test(p) || p.startsWith('.git/hooks/'), why: 'git hook' },
  { test: (p) => /(^|\/)\.gitattributes$/.test(p), why: 'git attributes (filters, diff drivers)' },
  { test: (p) => p === '.gitmodules', why: 'submodules' },
  { test: (p) => /(^|\/)\.vscode\/(tasks|settings|launch)\.json$/.test(p), why: 'editor tasks/settings' },
  { test: (p) => /(^|\/)\.claude\/settings[^/]*\.json$/.test(p) || /(^|\/)\.mcp\.json$/.test(p), why: 'agent settings' },
  { test: (p) => p.startsWith('.github/workflows/') || p.startsWith('.github/actions/'), why: 'CI workflow' },
  { test: (p) => /(^|\/)\.gitlab-ci\.yml$/.test(p) || p.startsWith('.circleci/') || p === 'Jenkinsfile'
    || p === '.travis.yml' || p === 'azure-pipelines.yml' || p === 'bitbucket-pipelines.yml' || p.startsWith('.buildkite/'), why: 'CI definition' },
  { test: (p) => /(^|\/)\.envrc$/.test(p), why: 'direnv script' },
  { test: (p) => /(^|\/)(GNU)?[Mm]akefile$/.test(p), why: 'Makefile' },
]

/** package.json files whose "scripts" section the change touches (install scripts run on `npm install`). */
function touchesScripts(file: FilePatch): boolean {
  if (!/(^|\/)package\.json$/.test(file.path)) return false
  if (file.kind === 'added' || file.kind === 'deleted') return /"scripts"\s*:/.test(file.text)
  const changed = file.text.split('\n').filter((l) => /^[+-](?![+-])/.test(l))
  if (changed.some((l) => /"(pre|post)?(install|prepare|prepublish|scripts)"/.test(l))) return true
  // A changed line inside the "scripts" block: look at the hunk context above it.
  let inScripts = false
  for (const line of file.text.split('\n')) {
    if (/^[ +-]\s*"scripts"\s*:/.test(line)) inScripts = true
    else if (inScripts && /^[ +-]\s*}/.test(line)) inScripts = false
    else if (inScripts && /^[+-](?![+-])/.test(line)) return true
  }
  return false
}

export interface RiskFlag {
  path: string
  why: string
}

export function riskFlags(files: FilePatch[]): RiskFlag[] {
  const flags: RiskFlag[] = []
  for (const file of files) {
    for (const p of new Set([file.oldPath, file.path])) {
      const rule = RULES.find((r) => r.test(p))
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
    kleur.red().bold(`⚠ ${flags.length} change${flags.length === 1 ? '' : 's'} can run code on your machine or in CI — review before applying or pushing:`),
    ...flags.map((f) => kleur.red(`  ! ${f.path} (${f.why})`)),
  ]
}
