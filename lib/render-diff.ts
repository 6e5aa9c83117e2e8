// A git patch rendered for reading: git's headers as they are, text hunks re-drawn from the `diff` package's
// structured hunks (so a malformed hunk fails loudly instead of being shown wrong), binary changes named.
import { parsePatch as parseHunks } from 'diff'
import kleur from 'kleur'

import type { FilePatch } from './patch.js'

/** Where the text hunks of a file section start: git's headers (diff --git, modes, renames) come before. */
function splitHeader(text: string): { header: string[]; body: string } {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => l.startsWith('--- ') || l.startsWith('@@') || l === 'GIT binary patch' || l.startsWith('Binary files '))
  if (start < 0) return { header: lines.filter((l) => l !== ''), body: '' }
  return { header: lines.slice(0, start), body: lines.slice(start).join('\n') }
}

/** jsdiff adds one to a zero-length side's start; unified diff headers write it one lower. */
function hunkHeader(h: { oldStart: number; oldLines: number; newStart: number; newLines: number }): string {
  const side = (start: number, count: number) => `${count === 0 ? start - 1 : start},${count}`
  return `@@ -${side(h.oldStart, h.oldLines)} +${side(h.newStart, h.newLines)} @@`
}

function renderFile(file: FilePatch): string[] {
  const { header, body } = splitHeader(file.text)
  const out = header.map((l) => kleur.bold(l))
  if (file.binary) {
    out.push(kleur.yellow(`Binary file ${file.kind === 'deleted' ? file.oldPath : file.path} ${file.kind === 'deleted' ? 'deleted' : file.kind === 'added' ? 'added' : 'changed'}`))
    return out
  }
  if (!body.trim()) return out
  const [parsed] = parseHunks(body)
  if (body.startsWith('--- ')) {
    out.push(kleur.bold(body.split('\n', 1)[0]), kleur.bold(body.split('\n', 2)[1]))
  }
  for (const hunk of parsed?.hunks ?? []) {
    out.push(kleur.cyan(hunkHeader(hunk)))
    for (const line of hunk.lines) {
      if (line.startsWith('+')) out.push(kleur.green(line))
      else if (line.startsWith('-')) out.push(kleur.red(line))
      else if (line.startsWith('\\')) out.push(kleur.dim(line))
      else out.push(line)
    }
  }
  return out
}

/** The whole patch as lines for a terminal or a pager; colors follow kleur.enabled. */
export function renderDiff(files: FilePatch[]): string[] {
  return files.flatMap(renderFile)
}
