// Files a patch adds, read back out of it. A new text file's hunk holds its whole content, so the files of a
// patch that adds thousands of them can be made into objects at once (see git/trees.ts) instead of one by one.
// Everything here works on bytes: a file's content and path must come out exactly as they went in.

export interface AddedFile {
  /** '100644' or '100755' */
  mode: string
  /** the object id of the content, as git wrote it on the `index 0000000..<id>` line (in full) */
  oid: string
  /** the path as its bytes appear in the patch */
  path: Buffer
  content: Buffer
}

const PLUS = 43 // '+'
const BACKSLASH = 92 // '\', as in "\ No newline at end of file"
const NEWLINE = 10

// A regular file added with its content as text, in the form git writes with --full-index. The path must be
// unquoted (a quoted one is left to git); a trailing tab is git's, after names with spaces.
const HEADER =
  /^diff --git [^\n]*\nnew file mode (100644|100755)\nindex 0{40}\.\.([0-9a-f]{40})\n--- \/dev\/null\n\+\+\+ b\/([^"\n][^\n]*)\n@@ -0,0 \+1(?:,(\d+))? @@[^\n]*\n/

// Room enough for any header of this form: past it, a section cannot match.
const HEADER_BYTES = 8192

/**
 * The file a section adds, when it is a regular text file that git wrote in full; undefined for anything else
 * (changes to existing files, binary files, symlinks, empty files, a hunk that does not say what it holds).
 * The content's object id is not checked here.
 */
export function addedFile(section: Buffer): AddedFile | undefined {
  if (section[section.length - 1] !== NEWLINE) return undefined
  // latin1: one character per byte, so the path's bytes come back exactly.
  const match = HEADER.exec(section.toString('latin1', 0, Math.min(section.length, HEADER_BYTES)))
  if (!match) return undefined
  const [header, mode, oid, rawPath, count] = match
  const lines = count === undefined ? 1 : Number(count)
  if (lines === 0) return undefined
  // The body: `lines` lines that begin with '+', then at most "\ No newline at end of file".
  const content = Buffer.allocUnsafe(section.length - header.length - lines)
  let size = 0
  let pos = header.length
  for (let n = 0; n < lines; n++) {
    if (pos >= section.length || section[pos] !== PLUS) return undefined
    const end = section.indexOf(NEWLINE, pos) + 1
    size += section.copy(content, size, pos + 1, end)
    pos = end
  }
  if (pos < section.length) {
    // "\ No newline at end of file" takes the last line's newline away, and must end the section.
    if (section[pos] !== BACKSLASH || section.indexOf(NEWLINE, pos) !== section.length - 1) return undefined
    size -= 1
  }
  const path = Buffer.from(rawPath.endsWith('\t') ? rawPath.slice(0, -1) : rawPath, 'latin1')
  return { mode, oid, path, content: content.subarray(0, size) }
}
