// Reading git patches: which files a patch touches and how. git's extended headers (modes, renames, binary
// data) are parsed here; the text hunks of each file are handed to the `diff` package.

export type ChangeKind = 'added' | 'deleted' | 'modified' | 'renamed' | 'copied'

export interface FilePatch {
  /** path before (for added files, the same as path) */
  oldPath: string
  path: string
  kind: ChangeKind
  binary: boolean
  oldMode?: string
  newMode?: string
  added: number
  removed: number
  /** the section of the patch for this file, `diff --git` line included */
  text: string
}

/** Undoes git's C-style quoting of unusual paths ("a/t\303\251st" → a/tést). */
export function unquotePath(raw: string): string {
  if (!raw.startsWith('"')) return raw
  const bytes: number[] = []
  const body = raw.slice(1, raw.lastIndexOf('"'))
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '"': 34 }
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'))
      continue
    }
    const next = body[i + 1]
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8))
      i += 3
    } else {
      bytes.push(escapes[next] ?? next.charCodeAt(0))
      i += 1
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

function stripPrefix(p: string, prefix: string): string {
  return p.startsWith(prefix) ? p.slice(prefix.length) : p
}

/** Paths from a `diff --git a/X b/Y` line, for the sections that have no ---/+++ or rename lines. */
function pathsFromDiffLine(line: string): [string, string] {
  const rest = line.slice('diff --git '.length)
  if (rest.startsWith('"')) {
    const end = rest.indexOf('" ', 1)
    const a = unquotePath(rest.slice(0, end + 1))
    return [stripPrefix(a, 'a/'), stripPrefix(unquotePath(rest.slice(end + 2)), 'b/')]
  }
  // Unquoted and the same path on both sides: "a/P b/P" splits in the middle.
  const half = (rest.length - 1) / 2
  if (Number.isInteger(half) && rest.slice(0, half).slice(2) === rest.slice(half + 1).slice(2)) {
    return [rest.slice(2, half), rest.slice(half + 3)]
  }
  const split = rest.indexOf(' b/')
  return [stripPrefix(rest.slice(0, split), 'a/'), rest.slice(split + 3)]
}

function splitSections(patch: string): string[] {
  const sections: string[] = []
  let start = -1
  const re = /^diff --git /gm
  let match: RegExpExecArray | null
  while ((match = re.exec(patch))) {
    if (start >= 0) sections.push(patch.slice(start, match.index))
    start = match.index
  }
  if (start >= 0) sections.push(patch.slice(start))
  return sections
}

function parseSection(text: string): FilePatch {
  const lines = text.split('\n')
  let [oldPath, path] = pathsFromDiffLine(lines[0])
  const file: FilePatch = { oldPath, path, kind: 'modified', binary: false, added: 0, removed: 0, text }
  let inHunk = false
  for (const line of lines.slice(1)) {
    if (inHunk) {
      if (line.startsWith('+')) file.added++
      else if (line.startsWith('-')) file.removed++
      else if (line.startsWith('@@')) continue
      continue
    }
    if (line.startsWith('@@')) inHunk = true
    else if (line.startsWith('new file mode ')) {
      file.kind = 'added'
      file.newMode = line.slice(14)
    } else if (line.startsWith('deleted file mode ')) {
      file.kind = 'deleted'
      file.oldMode = line.slice(18)
    } else if (line.startsWith('old mode ')) file.oldMode = line.slice(9)
    else if (line.startsWith('new mode ')) file.newMode = line.slice(9)
    else if (line.startsWith('rename from ')) {
      file.kind = 'renamed'
      oldPath = unquotePath(line.slice(12))
    } else if (line.startsWith('rename to ')) path = unquotePath(line.slice(10))
    else if (line.startsWith('copy from ')) {
      file.kind = 'copied'
      oldPath = unquotePath(line.slice(10))
    } else if (line.startsWith('copy to ')) path = unquotePath(line.slice(8))
    else if (line.startsWith('--- ') && line !== '--- /dev/null') oldPath = stripPrefix(unquotePath(line.slice(4).replace(/\t$/, '')), 'a/')
    else if (line.startsWith('+++ ') && line !== '+++ /dev/null') path = stripPrefix(unquotePath(line.slice(4).replace(/\t$/, '')), 'b/')
    else if (line === 'GIT binary patch' || line.startsWith('Binary files ')) file.binary = true
  }
  if (file.kind === 'added') oldPath = path
  if (file.kind === 'deleted') path = oldPath
  file.oldPath = oldPath
  file.path = path
  return file
}

export function parsePatch(patch: string): FilePatch[] {
  return splitSections(patch).map(parseSection)
}

export interface PatchStat {
  files: number
  added: number
  removed: number
}

export function patchStat(files: FilePatch[]): PatchStat {
  return files.reduce((stat, f) => ({ files: stat.files + 1, added: stat.added + f.added, removed: stat.removed + f.removed }), {
    files: 0,
    added: 0,
    removed: 0,
  })
}

export function describePath(file: FilePatch): string {
  return file.kind === 'renamed' || file.kind === 'copied' ? `${file.oldPath} → ${file.path}` : file.path
}
