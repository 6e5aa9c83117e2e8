// Reading git patches: which files a patch touches and how. git's extended headers (modes, renames, binary
// data) are parsed here; render.ts draws the text hunks.
//
// A patch can be tens of megabytes, so nothing here needs it whole: each file's section is parsed on its own,
// by scanning it rather than splitting it into lines, and changeOfSection reads one from its bytes without
// decoding more than its header.

export type ChangeKind = 'added' | 'deleted' | 'modified' | 'renamed' | 'copied'

/** What a patch does to one file: everything the summaries need, none of its text. */
export interface FileChange {
  /** path before (for added files, the same as path) */
  oldPath: string
  path: string
  kind: ChangeKind
  binary: boolean
  oldMode?: string
  newMode?: string
  added: number
  removed: number
}

export interface FilePatch extends FileChange {
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
      for (const byte of Buffer.from(c, 'utf8')) bytes.push(byte)
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

/** A path from a ---/+++ line's value: quoted or not, with git's trailing tab (after names with spaces) dropped. */
function headerPath(value: string, prefix: string): string {
  return stripPrefix(unquotePath(value.endsWith('\t') ? value.slice(0, -1) : value), prefix)
}

const PLUS = 43 // '+'
const MINUS = 45 // '-'
const NEWLINE = 10

/**
 * Reads the header of a section (the lines from `diff --git` to the first hunk) into `file`: kind, modes,
 * paths, binary. Returns where the first hunk's line starts, or the text's length when there is none.
 */
function parseHeader(file: FileChange, text: string): number {
  const firstEnd = text.indexOf('\n')
  let [oldPath, path] = pathsFromDiffLine(firstEnd < 0 ? text : text.slice(0, firstEnd))
  let pos = firstEnd < 0 ? text.length : firstEnd + 1
  // Line by line, without splitting the text into lines first.
  for (; pos < text.length; ) {
    let end = text.indexOf('\n', pos)
    if (end < 0) end = text.length
    if (text.startsWith('@@', pos)) break
    if (text.startsWith('new file mode ', pos)) {
      file.kind = 'added'
      file.newMode = text.slice(pos + 14, end)
    } else if (text.startsWith('deleted file mode ', pos)) {
      file.kind = 'deleted'
      file.oldMode = text.slice(pos + 18, end)
    } else if (text.startsWith('old mode ', pos)) file.oldMode = text.slice(pos + 9, end)
    else if (text.startsWith('new mode ', pos)) file.newMode = text.slice(pos + 9, end)
    else if (text.startsWith('rename from ', pos)) {
      file.kind = 'renamed'
      oldPath = unquotePath(text.slice(pos + 12, end))
    } else if (text.startsWith('rename to ', pos)) path = unquotePath(text.slice(pos + 10, end))
    else if (text.startsWith('copy from ', pos)) {
      file.kind = 'copied'
      oldPath = unquotePath(text.slice(pos + 10, end))
    } else if (text.startsWith('copy to ', pos)) path = unquotePath(text.slice(pos + 8, end))
    else if (text.startsWith('--- ', pos)) {
      const value = text.slice(pos + 4, end)
      if (value !== '/dev/null') oldPath = headerPath(value, 'a/')
    } else if (text.startsWith('+++ ', pos)) {
      const value = text.slice(pos + 4, end)
      if (value !== '/dev/null') path = headerPath(value, 'b/')
    } else if ((text.startsWith('GIT binary patch', pos) && end - pos === 16) || text.startsWith('Binary files ', pos)) file.binary = true
    pos = end + 1
  }
  if (file.kind === 'added') oldPath = path
  if (file.kind === 'deleted') path = oldPath
  file.oldPath = oldPath
  file.path = path
  return Math.min(pos, text.length)
}

function emptyChange(): FileChange {
  return { oldPath: '', path: '', kind: 'modified', binary: false, added: 0, removed: 0 }
}

/** One file's section of a patch (from its `diff --git` line to the next one). */
export function parseSection(text: string): FilePatch {
  const file: FilePatch = { ...emptyChange(), text }
  // After the header every line is a hunk's: only its first character matters.
  for (let pos = parseHeader(file, text); pos < text.length; ) {
    const c = text.charCodeAt(pos)
    if (c === PLUS) file.added++
    else if (c === MINUS) file.removed++
    const end = text.indexOf('\n', pos)
    pos = end < 0 ? text.length : end + 1
  }
  return file
}

/** A section's header only (kind, modes, paths, binary): what rendering it needs. Its counts are left at 0. */
export function parseSectionHeader(text: string): FilePatch {
  const file: FilePatch = { ...emptyChange(), text }
  parseHeader(file, text)
  return file
}

const HUNK_LINE = Buffer.from('\n@@')

/**
 * The line counts of the hunk header at `at` ("@@ -start[,count] +start[,count] @@", a count left out is 1),
 * read straight from the bytes; undefined when the line is not such a header.
 */
function hunkCounts(section: Buffer, at: number): { oldLines: number; newLines: number } | undefined {
  let pos = at
  const expect = (text: string) => {
    for (let i = 0; i < text.length; i++) if (section[pos++] !== text.charCodeAt(i)) return false
    return true
  }
  const number = () => {
    const start = pos
    let value = 0
    while (section[pos] >= 48 && section[pos] <= 57) value = value * 10 + section[pos++] - 48
    return pos > start ? value : -1
  }
  const side = () => {
    if (number() < 0) return -1
    if (section[pos] !== 44) return 1 // no ','
    pos++
    return number()
  }
  if (!expect('@@ -')) return undefined
  const oldLines = side()
  if (oldLines < 0 || !expect(' +')) return undefined
  const newLines = side()
  if (newLines < 0 || !expect(' @@')) return undefined
  return { oldLines, newLines }
}

/**
 * One file's change from its section as bytes, decoding no more than its header: the summary of a 50 MB patch
 * must cost about what reading it costs. An added or deleted file is counted from its hunk's header (git writes
 * one hunk for it, all added or all removed lines, and checks the count whenever it applies the patch, which
 * realm does to every patch it stores); any other file line by line, as parseSection counts.
 */
export function changeOfSection(section: Buffer): FileChange {
  const file = emptyChange()
  const hunk = section.indexOf(HUNK_LINE)
  parseHeader(file, section.toString('utf8', 0, hunk < 0 ? section.length : hunk + 1))
  if (hunk < 0) return file
  if (file.kind === 'added' || file.kind === 'deleted') {
    const counts = hunkCounts(section, hunk + 1)
    if (file.kind === 'added' && counts?.oldLines === 0) {
      file.added = counts.newLines
      return file
    }
    if (file.kind === 'deleted' && counts?.newLines === 0) {
      file.removed = counts.oldLines
      return file
    }
  }
  for (let pos = hunk + 1; pos < section.length; ) {
    const c = section[pos]
    if (c === PLUS) file.added++
    else if (c === MINUS) file.removed++
    const end = section.indexOf(NEWLINE, pos)
    pos = end < 0 ? section.length : end + 1
  }
  return file
}

/**
 * A section's FilePatch from its bytes: what changeOfSection reads, and the text, decoded only when asked for
 * (the summary of a big patch needs the text of a few files, if any).
 */
export function filePatchOfSection(section: Buffer): FilePatch {
  return {
    ...changeOfSection(section),
    get text() {
      return section.toString('utf8')
    },
  }
}

const SECTION_START = '\ndiff --git '

/** The sections of a whole patch (each from a line beginning `diff --git ` to the next one). */
export function splitSections(patch: string): string[] {
  const sections: string[] = []
  let start = patch.startsWith('diff --git ') ? 0 : -1
  for (let at = patch.indexOf(SECTION_START); at >= 0; at = patch.indexOf(SECTION_START, at + 1)) {
    if (start >= 0) sections.push(patch.slice(start, at + 1))
    start = at + 1
  }
  if (start >= 0) sections.push(patch.slice(start))
  return sections
}

const SECTION_START_BYTES = Buffer.from(SECTION_START)

/** The sections of a whole patch as bytes (views of `patch`), as splitSections cuts text. */
export function splitSectionBytes(patch: Buffer): Buffer[] {
  const sections: Buffer[] = []
  let start = patch.subarray(0, 11).toString('latin1') === 'diff --git ' ? 0 : -1
  for (let at = patch.indexOf(SECTION_START_BYTES); at >= 0; at = patch.indexOf(SECTION_START_BYTES, at + 1)) {
    if (start >= 0) sections.push(patch.subarray(start, at + 1))
    start = at + 1
  }
  if (start >= 0) sections.push(patch.subarray(start))
  return sections
}

/** The whole patch at once, each file with its text: for patches that are known to be small. */
export function parsePatch(patch: string): FilePatch[] {
  return splitSections(patch).map(parseSection)
}

export interface PatchStat {
  files: number
  added: number
  removed: number
}

export function patchStat(files: readonly FileChange[]): PatchStat {
  const stat = { files: 0, added: 0, removed: 0 }
  for (const f of files) {
    stat.files++
    stat.added += f.added
    stat.removed += f.removed
  }
  return stat
}

export function describePath(file: FileChange): string {
  return file.kind === 'renamed' || file.kind === 'copied' ? `${file.oldPath} → ${file.path}` : file.path
}
