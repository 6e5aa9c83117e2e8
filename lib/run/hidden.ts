// Secret files stay on the host: which of the project's files the agent must not see (hide-rules.ts decides),
// found by one walk of the project, and the layer of overlay whiteouts that takes them out of every view of the
// project the container gets (see container/plan.ts).
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'

import { UserError } from '../common/errors.js'
import { realmHome } from '../common/paths.js'
import { git, nulPaths } from '../git/exec.js'
import { type HideMatcher, hideMatcher, hideRules } from './hide-rules.js'

const run = promisify(execFile)

export interface HideOptions {
  /** --hide and --show, once or repeated */
  hide?: string | string[]
  show?: string | string[]
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String)
}

/** The user's own hide file: under realm's config directory, never in a project (which may be hostile). */
export function hideFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(realmHome(env), 'hide')
}

/** The matcher for this run: realm's defaults, then the user's file, REALM_HIDE/REALM_SHOW, --hide/--show. */
export async function userHideMatcher(options: HideOptions, env: NodeJS.ProcessEnv = process.env): Promise<HideMatcher> {
  const file = await fs.readFile(hideFilePath(env), 'utf8').catch(() => '')
  return hideMatcher(
    hideRules({ file, envHide: env.REALM_HIDE, envShow: env.REALM_SHOW, hide: list(options.hide), show: list(options.show) }),
  )
}

/**
 * The project's hidden paths, relative, sorted: files and symlinks a rule hides, and directories a rule hides
 * whole (what is below them is not listed). Every directory is searched, ignored ones included (a secret is
 * often in a directory the user told git to ignore), but not `.git`: git's own files are the repository, not
 * the working tree. find(1) walks the tree in its own process, beside realm's other checks; one scan of its list
 * (HideMatcher.candidates) leaves the few names that the rules then decide.
 */
export async function findHidden(root: string, matcher: HideMatcher): Promise<string[]> {
  const { stdout } = await run('find', ['.', '-name', '.git', '-prune', '-o', '-print0'], {
    cwd: root,
    maxBuffer: 1 << 30,
    encoding: 'buffer',
  }).catch((error: { stdout?: Buffer; code?: unknown; message?: string }) => {
    // find says so and goes on when a directory cannot be read; what it printed is still the answer.
    if (typeof error.code === 'number' && error.stdout) return { stdout: error.stdout }
    throw new UserError(`cannot search ${root} for secret files to hide (${String(error.message).split('\n')[0]})`)
  })
  // latin1 keeps every byte as one character, so positions are bytes; each name is decoded as UTF-8 once found.
  const list = stdout.toString('latin1')
  const candidates: string[] = []
  for (const match of list.matchAll(matcher.candidates)) {
    const start = list.lastIndexOf('\0', match.index) + 1
    const entry = list.slice(start, list.indexOf('\0', match.index + 1))
    if (entry.startsWith('./')) candidates.push(Buffer.from(entry.slice(2), 'latin1').toString('utf8'))
  }
  candidates.sort()
  const stats = await Promise.all(candidates.map((rel) => fs.lstat(path.join(root, rel)).catch(() => undefined)))
  const hidden: string[] = []
  const hiddenDirs = new Set<string>()
  for (const [i, rel] of candidates.entries()) {
    // Inside a directory hidden whole? (Sorted, so a directory comes before what is in it.)
    if (ancestors(rel).some((dir) => hiddenDirs.has(dir))) continue
    const stat = stats[i]
    if (!stat) continue
    const name = rel.slice(rel.lastIndexOf('/') + 1)
    if (stat.isDirectory() ? !matcher.directory(rel, name) : !matcher.file(rel, name)) continue
    hidden.push(rel)
    if (stat.isDirectory()) hiddenDirs.add(rel)
  }
  return hidden
}

/**
 * Of the hidden paths, those git tracks (in the user's index or in `commit`'s tree), each a file: the container
 * keeps their committed version in the session's view of the project (their absence there is no deletion) and
 * takes them out of a copy's checkout. Their names are no secret: the agent can read them in git.
 */
export async function trackedHidden(root: string, commit: string, hidden: readonly string[]): Promise<string[]> {
  // Asked for the hidden paths alone (a directory names what is below it), a batch at a time: a big index
  // listed whole would cost more than the rest of hiding.
  const env = { GIT_LITERAL_PATHSPECS: '1' }
  const read = async (args: string[]) => nulPaths(String((await git(root, args, { env, reject: false })).stdout))
  const found: Array<Promise<string[]>> = []
  for (let i = 0; i < hidden.length; i += 1000) {
    const batch = hidden.slice(i, i + 1000)
    found.push(read(['ls-files', '-z', '--cached', '--', ...batch]))
    found.push(read(['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit, '--', ...batch]))
  }
  const isHidden = hiddenTest(hidden)
  return [...new Set((await Promise.all(found)).flat())].filter(isHidden).sort()
}

/** The directories above a relative path, outermost first. */
function ancestors(rel: string): string[] {
  const dirs: string[] = []
  for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1)) dirs.push(rel.slice(0, i))
  return dirs
}

/** Whether a path is hidden: one of `hidden` or below a hidden directory. */
export function hiddenTest(hidden: readonly string[]): (rel: string) => boolean {
  const set = new Set(hidden)
  return (rel) => set.has(rel) || ancestors(rel).some((dir) => set.has(dir))
}

/**
 * Makes `layer` an overlay layer that removes `hidden` from the project below it: a whiteout (a 0/0 character
 * device, which an unprivileged user may create since Linux 5.8) for each, and the directories that hold them
 * with the project's own modes, times and (as root) owners, since the topmost layer's directory is the one
 * shown.
 */
export async function makeHideLayer(layer: string, root: string, hidden: readonly string[]): Promise<void> {
  await fs.mkdir(layer, { recursive: true })
  const dirs = new Set<string>([''])
  for (const rel of hidden) for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) dirs.add(d)
  for (const dir of [...dirs].sort()) {
    const target = path.join(layer, dir)
    if (dir) await fs.mkdir(target)
    const stat = await fs.stat(path.join(root, dir))
    await fs.chmod(target, stat.mode & 0o7777)
    if (process.getuid?.() === 0) await fs.lchown(target, stat.uid, stat.gid)
  }
  // One shell for a batch of whiteouts: mknod(1) takes one name.
  for (let i = 0; i < hidden.length; i += 500) {
    const batch = hidden.slice(i, i + 500)
    try {
      await run('sh', ['-c', 'for p; do mknod -- "$p" c 0 0 || exit 1; done', 'sh', ...batch], { cwd: layer })
    } catch (error) {
      const detail =
        String((error as { stderr?: string }).stderr ?? '')
          .trim()
          .split('\n')[0] || 'mknod failed'
      throw new UserError(
        `cannot hide ${hidden.length} secret file${hidden.length === 1 ? '' : 's'} from the agent (${detail}; an unprivileged user needs Linux 5.8 or later) — run as root, or show them with --show PATTERN`,
      )
    }
  }
  // Times last: creating the entries above changed them.
  for (const dir of [...dirs].sort().reverse()) {
    const stat = await fs.stat(path.join(root, dir))
    await fs.utimes(path.join(layer, dir), stat.atimeMs / 1000, stat.mtimeMs / 1000)
  }
}

/** The run summary's line about hidden files, or undefined when none were hidden. */
export function hiddenLine(hidden: readonly string[]): string | undefined {
  if (hidden.length === 0) return undefined
  const shown = hidden.slice(0, 3).join(', ') + (hidden.length > 3 ? ', …' : '')
  const files = `${hidden.length} secret file${hidden.length === 1 ? '' : 's'}`
  return `realm: hid ${files} from the agent (${shown}) — show with --show PATTERN`
}
