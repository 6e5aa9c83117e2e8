// A git patch rendered for reading: git's headers as they are, text hunks re-drawn from the `diff` package's
// structured hunks (which checks each hunk's line counts), binary changes named instead of dumped.
import { parsePatch as parseHunks } from 'diff'
import kleur from 'kleur'

import { type FilePatch, parseSectionHeader } from './parse.js'

/** Where the text hunks of a file section start: git's headers (diff --git, modes, renames) come before. */
function splitHeader(text: string): { header: string[]; body: string } {
  const lines = text.split('\n')
  const start = lines.findIndex(
    (l) => l.startsWith('--- ') || l.startsWith('@@') || l === 'GIT binary patch' || l.startsWith('Binary files '),
  )
  if (start < 0) return { header: lines.filter((l) => l !== ''), body: '' }
  return { header: lines.slice(0, start), body: lines.slice(start).join('\n') }
}

/** jsdiff adds one to a zero-length side's start; unified diff headers write it one lower. */
function hunkHeader(h: { oldStart: number; oldLines: number; newStart: number; newLines: number }): string {
  const side = (start: number, count: number) => `${count === 0 ? start - 1 : start},${count}`
  return `@@ -${side(h.oldStart, h.oldLines)} +${side(h.newStart, h.newLines)} @@`
}

function colorLine(line: string): string {
  if (line.startsWith('+')) return kleur.green(line)
  if (line.startsWith('-')) return kleur.red(line)
  if (line.startsWith('\\')) return kleur.dim(line)
  return line
}

/** Hunks as the `diff` package reads them; a body it cannot read is shown as it is rather than not at all. */
function renderHunks(body: string): string[] {
  let parsed: ReturnType<typeof parseHunks>
  try {
    parsed = parseHunks(body)
  } catch {
    return body
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => (l.startsWith('@@') ? kleur.cyan(l) : l.startsWith('--- ') || l.startsWith('+++ ') ? kleur.bold(l) : colorLine(l)))
  }
  const out: string[] = []
  if (body.startsWith('--- ')) for (const l of body.split('\n', 2)) out.push(kleur.bold(l))
  // One push per line: spreading a hunk of a few hundred thousand lines into push() overflows the stack.
  for (const hunk of parsed[0]?.hunks ?? []) {
    out.push(kleur.cyan(hunkHeader(hunk)))
    for (const line of hunk.lines) out.push(colorLine(line))
  }
  return out
}

/** One file's section as lines for a terminal or a pager; colors follow kleur.enabled. */
export function renderFile(file: FilePatch): string[] {
  const { header, body } = splitHeader(file.text)
  const out = header.map((l) => kleur.bold(l))
  if (file.binary) {
    out.push(
      kleur.yellow(
        `Binary file ${file.kind === 'deleted' ? file.oldPath : file.path} ${file.kind === 'deleted' ? 'deleted' : file.kind === 'added' ? 'added' : 'changed'}`,
      ),
    )
    return out
  }
  if (!body.trim()) return out
  return [...out, ...renderHunks(body)]
}

/** One file's section of a patch, as text, rendered (see renderFile). */
export function renderSection(text: string): string[] {
  return renderFile(parseSectionHeader(text))
}

/** The whole patch as lines for a terminal or a pager; colors follow kleur.enabled. */
export function renderDiff(files: FilePatch[]): string[] {
  return files.flatMap(renderFile)
}
