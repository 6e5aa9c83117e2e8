// Manifests: the files whose risk depends on which part of them changed. A package.json's dependency bump runs
// nothing by itself, its "scripts" run on `npm install`; a pyproject.toml's ruff settings run nothing, its build
// backend runs on `pip install .`. Judged from the hunks alone (a section's text, never the whole file), and when a
// hunk does not show which part a changed line is in, the change is flagged.
import type { FilePatch } from './parse.js'
import { WHY, type Why } from './risk-rules.js'

/** What a JSON manifest runs: its keys whose objects (or values) run code, and the reason a change to each gives. */
interface JsonManifest {
  risky: ReadonlySet<string>
  why: (key: string) => Why
}

// package.json keys that npm, git-hook managers and test or lint tools act on without being asked: lifecycle
// scripts, hooks run on commit, configs that load plugins, the package manager Corepack downloads and runs.
const PACKAGE_JSON: JsonManifest = {
  risky: new Set([
    'scripts',
    'husky',
    'simple-git-hooks',
    'lint-staged',
    'gitHooks',
    'pre-commit',
    'commitlint',
    'config',
    'jest',
    'mocha',
    'ava',
    'c8',
    'nyc',
    'babel',
    'eslintConfig',
    'prettier',
    'stylelint',
    'nodemonConfig',
    'pnpm',
    'packageManager',
    'devEngines',
    'release',
  ]),
  why: (key) => (key === 'scripts' ? WHY.manifestScripts : WHY.manifestHooks),
}

// composer.json: "scripts" run on install and update events, "config" holds "allow-plugins" (plugins run code).
const COMPOSER_JSON: JsonManifest = { risky: new Set(['scripts', 'config', 'allow-plugins']), why: () => WHY.composerScripts }

/** TOML tables that run nothing: a changed line in any other table (or where the hunk shows none) is flagged. */
interface TomlManifest {
  plain: RegExp
  why: Why
}

// pyproject.toml: project metadata, dependency lists and the settings of tools that load no code. Everything else
// may: [build-system] (the backend runs on install), [tool.pytest*] (addopts -p loads plugins), [tool.mypy]
// (plugins), [tool.pylint] (init-hook), [tool.hatch.build.hooks], [project.entry-points] (pytest11 plugins load in
// every pytest run), [project.scripts] (commands that shadow the user's).
const PYPROJECT: TomlManifest = {
  plain:
    /^(?:project|project\.urls|project\.optional-dependencies|dependency-groups|tool\.(?:ruff|black|isort|codespell|pyright|basedpyright|typos|pydocstyle)(?:\..*)?|tool\.poetry\.(?:dependencies|dev-dependencies|group\.[^.]+\.dependencies)|tool\.pdm\.dev-dependencies)$/,
  why: WHY.pyproject,
}

// Cargo.toml: dependency tables and features. [package] may name a build script (`build = "src/x.rs"`), [lib] may
// make the crate a proc macro (both run at compile time, and rust-analyzer compiles on open).
const CARGO_TOML: TomlManifest = {
  plain: /^(?:(?:target\..+\.)?(?:dev-)?dependencies(?:\..+)?|workspace\.dependencies(?:\..+)?|features|badges)$/,
  why: WHY.cargo,
}

const MANIFESTS: ReadonlyMap<string, JsonManifest | TomlManifest> = new Map<string, JsonManifest | TomlManifest>([
  ['package.json', PACKAGE_JSON],
  ['composer.json', COMPOSER_JSON],
  ['pyproject.toml', PYPROJECT],
  ['cargo.toml', CARGO_TOML],
])

function manifestOf(path: string): JsonManifest | TomlManifest | undefined {
  return MANIFESTS.get(path.slice(path.lastIndexOf('/') + 1).toLowerCase())
}

/** Whether `path` is a manifest, the one kind of file whose flags depend on its text (see manifestWhy). */
export function isManifest(path: string): boolean {
  return manifestOf(path) !== undefined
}

// JSON keys that never hold code: a changed line with one of these keys is harmless even when the hunk does not
// show which object it is in.
const PLAIN_KEYS = new Set(['name', 'version', 'description', 'license', 'author', 'homepage', 'private', 'type', 'keywords'])

/** The changed (+/-) lines of each hunk, with their context lines, without the diff markers' meaning lost. */
function hunks(text: string): string[][] {
  return text
    .split(/^@@[^\n]*\n/m)
    .slice(1)
    .map((h) => h.split('\n').filter((l) => /^[ +-]/.test(l)))
}

const JSON_KEY = /^\s*"([^"]*)"\s*:/
const JSON_OPENER = /^\s*"([^"]*)"\s*:\s*[{[]/

/**
 * What encloses line `index` of a JSON hunk, judged from the hunk's own lines: the line that opens its object or
 * array (and that key), 'top' for the top-level object, undefined when the hunk does not show it.
 */
function enclosing(lines: string[], index: number): { at: number; key: string } | 'top' | undefined {
  const indent = lines[index].slice(1).search(/\S/)
  // The nearest line above with less indentation that opens an object or array encloses the line.
  for (let i = index - 1; i >= 0; i--) {
    const above = lines[i].slice(1)
    const aboveIndent = above.search(/\S/)
    if (aboveIndent < 0 || aboveIndent >= indent) continue
    const opener = JSON_OPENER.exec(above)
    if (opener) return { at: i, key: opener[1] }
    if (/^\s*\{\s*$/.test(above)) return 'top'
  }
  return undefined
}

/** The side of a whole-file change that has content: an added file's new lines, a deleted file's old ones. */
function content(file: FilePatch): string[] {
  const mark = file.kind === 'added' ? '+' : '-'
  return hunks(file.text).flatMap((lines) => lines.filter((l) => l[0] === mark).map((l) => l.slice(1)))
}

/** The risky key a JSON manifest's change touches, if any ('scripts' for a line the hunk cannot place). */
function jsonTouches(file: FilePatch, manifest: JsonManifest): string | undefined {
  if (file.kind === 'added' || file.kind === 'deleted') {
    const text = content(file).join('\n')
    let top: unknown
    try {
      top = JSON.parse(text)
    } catch {
      // Not JSON that npm would read either; still, any risky key anywhere in it is worth a look.
      return [...manifest.risky].find((key) => text.includes(`"${key}"`))
    }
    if (typeof top !== 'object' || top === null) return undefined
    return Object.keys(top).find((key) => manifest.risky.has(key))
  }
  for (const lines of hunks(file.text)) {
    for (let i = 0; i < lines.length; i++) {
      if (!/^[+-]/.test(lines[i])) continue
      const own = JSON_KEY.exec(lines[i].slice(1))?.[1]
      // The keys the line sits in, innermost first, as far as the hunk shows them: a risky one anywhere decides
      // ("pnpm": { "onlyBuiltDependencies": [ ... ] } is a pnpm setting, though the nearest opener is the array).
      let outer = enclosing(lines, i)
      const shown = outer !== undefined && outer !== 'top'
      while (outer !== undefined && outer !== 'top') {
        if (manifest.risky.has(outer.key)) return outer.key
        outer = enclosing(lines, outer.at)
      }
      // Inside a key that runs nothing ("dependencies"), or a top-level key that runs nothing, or cannot tell.
      if (shown) continue
      if (own !== undefined && manifest.risky.has(own)) return own
      if (outer === 'top' || (own !== undefined && PLAIN_KEYS.has(own))) continue
      return 'scripts' // cannot tell which section the line is in: flag it
    }
  }
  return undefined
}

const TOML_TABLE = /^\s*\[\[?\s*([^\]]*?)\s*\]\]?\s*(?:#.*)?$/

/** A TOML table header's name, without quotes or spaces around its dots: [target.'cfg(unix)'.dependencies]. */
function tableName(header: string): string {
  return header
    .split('.')
    .map((part) => part.trim().replace(/^["']|["']$/g, ''))
    .join('.')
    .toLowerCase()
}

/** Whether a TOML manifest's change touches a table that may run code (or one the hunk does not show). */
function tomlTouches(file: FilePatch, manifest: TomlManifest): boolean {
  const risky = (header: string) => !manifest.plain.test(tableName(header))
  if (file.kind === 'added' || file.kind === 'deleted') {
    // Keys before the first table are top-level keys, which neither manifest format gives a plain meaning.
    const lines = content(file)
    const first = lines.findIndex((l) => TOML_TABLE.test(l))
    if (lines.slice(0, first < 0 ? lines.length : first).some((l) => /^\s*[^\s#]/.test(l))) return true
    return lines.some((l) => {
      const header = TOML_TABLE.exec(l)?.[1]
      return header !== undefined && risky(header)
    })
  }
  for (const lines of hunks(file.text)) {
    for (let i = 0; i < lines.length; i++) {
      if (!/^[+-]/.test(lines[i]) || !/\S/.test(lines[i].slice(1)) || /^[+-]\s*#/.test(lines[i])) continue
      const own = TOML_TABLE.exec(lines[i].slice(1))?.[1]
      if (own !== undefined) {
        if (risky(own)) return true
        continue
      }
      let header: string | undefined
      for (let j = i - 1; j >= 0 && header === undefined; j--) header = TOML_TABLE.exec(lines[j].slice(1))?.[1]
      if (header === undefined || risky(header)) return true // cannot tell, or a table that may run code
    }
  }
  return false
}

/** Why a manifest's change may run code by itself: undefined when it touches only parts that run nothing. */
export function manifestWhy(file: FilePatch): Why | undefined {
  const manifest = manifestOf(file.path) ?? manifestOf(file.oldPath)
  if (!manifest) return undefined
  // A moved or copied manifest puts whatever it runs somewhere new, and a pure rename shows no content.
  if (file.kind === 'renamed' || file.kind === 'copied') return 'risky' in manifest ? manifest.why('scripts') : manifest.why
  if ('risky' in manifest) {
    const key = jsonTouches(file, manifest)
    return key === undefined ? undefined : manifest.why(key)
  }
  return tomlTouches(file, manifest) ? manifest.why : undefined
}

/** Whether a manifest's change touches its "scripts" or another part that runs code. */
export function touchesScripts(file: FilePatch): boolean {
  return manifestWhy(file) !== undefined
}
