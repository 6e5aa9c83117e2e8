// The test repositories realm new runs in, and a home of sessions for realm list, made straight on disk.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { git, IMAGE } from './runner.js'

export interface Size {
  label: string
  files: number
  bytes: number
  ignored?: { files: number; bytes: number }
}

export const SIZES: Size[] = [
  { label: '10', files: 10, bytes: 1024 },
  { label: '5k', files: 5_000, bytes: 4096 },
  { label: '20k', files: 20_000, bytes: 8192 },
  { label: '5k+ignored', files: 5_000, bytes: 4096, ignored: { files: 30_000, bytes: 1024 } },
]

export function describe(size: Size): string {
  const kb = (b: number) => (b >= 1024 ? `${b / 1024} KB` : `${b} B`)
  const base = `${size.files.toLocaleString('en-US')} files × ${kb(size.bytes)}`
  return size.ignored ? `${base} + ${size.ignored.files.toLocaleString('en-US')} ignored × ${kb(size.ignored.bytes)}` : base
}

/** Random printable text, sliced per file (with a unique first line), so every blob differs. */
const POOL = randomBytes(48 * 1024)
  .toString('base64')
  .replace(/(.{79})/g, '$1\n')

function content(rel: string, bytes: number, i: number): string {
  const head = `// ${rel}\n`
  const need = Math.max(0, bytes - head.length)
  const from = (i * 131) % (POOL.length - need)
  return head + POOL.slice(from, from + need)
}

/** Writes `count` files of `bytes` each under dir, 100 to a directory, nested two levels like a source tree. */
function writeTree(root: string, dir: string, count: number, bytes: number, ext: string): void {
  for (let i = 0; i < count; i++) {
    const rel = path.join(dir, `pkg${Math.floor(i / 1000)}`, `mod${Math.floor(i / 100) % 10}`, `file${i}.${ext}`)
    if (i % 100 === 0) fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true })
    fs.writeFileSync(path.join(root, rel), content(rel, bytes, i))
  }
}

/** A committed repository of `size` under tmpRoot/repos. */
export function makeRepo(tmpRoot: string, size: Size): string {
  const root = path.join(tmpRoot, 'repos', size.label.replace(/[^A-Za-z0-9]/g, '_'))
  fs.mkdirSync(root, { recursive: true })
  git(root, 'init', '-q', '-b', 'main')
  git(root, 'config', 'gc.auto', '0')
  git(root, 'config', 'commit.gpgSign', 'false')
  fs.writeFileSync(path.join(root, 'README.md'), `# bench repository: ${describe(size)}\n`)
  writeTree(root, 'src', size.files - 1, size.bytes, 'ts')
  if (size.ignored) {
    fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules/\n')
    writeTree(root, 'node_modules', size.ignored.files, size.ignored.bytes, 'js')
  }
  git(root, 'add', '-A')
  git(root, 'commit', '-q', '-m', 'bench repository')
  // As a clone would have it: one pack (no delta search, which would only cost time here).
  git(root, 'repack', '-adq', '--window=0')
  git(root, 'prune-packed')
  return root
}

/** `count` sessions of a project under tmpRoot, in the documented layout, written straight to disk. */
export function fakeSessions(tmpRoot: string, home: string, count: number): void {
  const project = path.join(tmpRoot, 'some-project')
  const patch =
    'diff --git a/one-file.txt b/one-file.txt\nnew file mode 100644\nindex 0000000000000000000000000000000000000000..587be6b4c3f93f93c489c0111bba5596147a26cb\n--- /dev/null\n+++ b/one-file.txt\n@@ -0,0 +1 @@\n+x\n'
  for (let i = 0; i < count; i++) {
    const dir = path.join(home, 'sessions', `session-${String(i).padStart(3, '0')}`)
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'project_dir'), `${project}\n`)
    fs.writeFileSync(path.join(dir, 'created_at'), `${new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString()}\n`)
    fs.writeFileSync(
      path.join(dir, 'session.json'),
      `${JSON.stringify({ version: 1, baseCommit: 'a'.repeat(40), branch: 'main', subdir: '', image: IMAGE }, null, 2)}\n`,
    )
    fs.writeFileSync(path.join(dir, 'changes.patch'), patch)
  }
}
