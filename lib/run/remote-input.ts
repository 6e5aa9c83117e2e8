// What a streamed run sends into its container, as one tar stream extracted at the container's root: realm's
// own scripts, the session's patches, the run's output directory with what the host hands the container there,
// the project's objects the engine's cache lacks, the files git ignores (--include-ignored), and Claude Code's
// configuration (what a local run mounts read-only). Hidden secret files are never in it: the ignored files
// are filtered, a new session's baseline keeps them as committed, and the hidden files git tracks are listed
// for the entrypoint to take out of the checkout, as on a local engine.
import fs from 'node:fs'
import path from 'node:path'

import type { Mount } from '../container/plan.js'
import { tarEnd, tarEntry, type TarWriteEntry } from '../container/tar.js'
import { MOUNT, OUT } from './protocol.js'

export interface StreamInput {
  /** realm's docker/ directory */
  realmLib: string
  /** the session's patch files to hand over, by name (baseline.patch, base.patch, changes.patch) */
  sessionFiles: Record<string, string>
  /** files of the output directory the host hands the container (global-excludes, hidden-tracked), by name */
  outFiles: Record<string, Buffer>
  /** the pack of objects the cache lacks, and the commits it was made against */
  pack?: string
  have: string[]
  /** --include-ignored: the project's root and the ignored paths (directories end in /) */
  ignored?: { root: string; paths: string[]; isHidden: (rel: string) => boolean }
  /** Claude Code's configuration: what a local run bind-mounts (read-only but for the history) */
  mounts: Mount[]
  /** who the container runs as: the directories it writes are its own */
  user?: { uid: number; gid: number }
}

/** The container path without its leading slash: tar entries are relative to where they are extracted (/). */
const rel = (target: string) => target.replace(/^\/+/, '')

/** A host file or directory tree as tar entries under `target`, without following links. */
function* tree(
  source: string,
  target: string,
  owner: { uid: number; gid: number },
  skip: (relative: string) => boolean = () => false,
  relative = '',
): Generator<Buffer> {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(source)
  } catch {
    return // gone meanwhile
  }
  const base: Pick<TarWriteEntry, 'path' | 'uid' | 'gid'> = { path: rel(target), ...owner }
  if (stat.isSymbolicLink()) {
    yield* tarEntry({ ...base, type: 'symlink', mode: 0o777, linkname: fs.readlinkSync(source) })
  } else if (stat.isFile()) {
    yield* tarEntry({ ...base, type: 'file', mode: stat.mode & 0o777, content: fs.readFileSync(source) })
  } else if (stat.isDirectory()) {
    yield* tarEntry({ ...base, type: 'directory', mode: stat.mode & 0o777 })
    for (const name of fs.readdirSync(source).sort()) {
      const child = relative ? `${relative}/${name}` : name
      if (skip(child)) continue
      yield* tree(path.join(source, name), `${target}/${name}`, owner, skip, child)
    }
  }
  // sockets, FIFOs and devices are not the project's content
}

function* entries(input: StreamInput): Generator<Buffer> {
  const root = { uid: 0, gid: 0 }
  const own = input.user ?? root
  const dir = (target: string, mode = 0o755, owner = root) => tarEntry({ path: rel(target), type: 'directory', mode, ...owner })
  const file = (target: string, content: Buffer, mode = 0o644, owner = root) =>
    tarEntry({ path: rel(target), type: 'file', mode, content, ...owner })
  yield* dir('/realm')
  // realm's scripts, as a local run mounts them (the network sidecar's image and the Dockerfile are not run here)
  yield* tree(input.realmLib, MOUNT.lib, root, (relative) => relative === 'net' || relative === 'Dockerfile')
  yield* dir(MOUNT.session)
  for (const [name, source] of Object.entries(input.sessionFiles)) yield* file(`${MOUNT.session}/${name}`, fs.readFileSync(source))
  // The output directory is the container's to write.
  yield* dir(MOUNT.out, 0o700, own)
  for (const [name, content] of Object.entries(input.outFiles)) yield* file(`${MOUNT.out}/${name}`, content, 0o600, own)
  // The entrypoint removes the pack once it has read it.
  yield* dir(MOUNT.input, 0o755, own)
  if (input.pack) yield* file(`${MOUNT.input}/objects.pack`, fs.readFileSync(input.pack), 0o644, own)
  if (input.have.length) yield* file(`${MOUNT.input}/have`, Buffer.from(`${input.have.join('\n')}\n`))
  if (input.ignored) {
    const { root: project, paths, isHidden } = input.ignored
    yield* dir(MOUNT.ignored, 0o755, own)
    const made = new Set<string>()
    for (const entry of paths) {
      const relative = entry.replace(/\/+$/, '')
      if (!relative || isHidden(relative)) continue
      // the directories above it, as the project has them
      const parts = relative.split('/')
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('/')
        if (made.has(parent)) continue
        made.add(parent)
        yield* dir(`${MOUNT.ignored}/${parent}`, 0o755, own)
      }
      yield* tree(path.join(project, relative), `${MOUNT.ignored}/${relative}`, own, (below) => isHidden(`${relative}/${below}`))
    }
  }
  // The run's own copies, the container user's as a local run's mounts are (the host user's files).
  if (input.mounts.some((mount) => mount.target.startsWith(`${MOUNT.claudeConfig}/`))) yield* dir(MOUNT.claudeConfig, 0o755, own)
  for (const mount of input.mounts) yield* tree(mount.source, mount.target, own)
  yield tarEnd()
}

/** The tar stream of everything the container needs, produced as it is read (a pack or a tree may be large). */
export async function* streamInput(input: StreamInput): AsyncGenerator<Buffer> {
  yield* entries(input)
}

/** The output files a streamed run hands the container: realm's own, as a local run writes them into run/. */
export function handedOutFiles(excludes: string, hiddenTracked: readonly string[]): Record<string, Buffer> {
  const files: Record<string, Buffer> = { [OUT.globalExcludes]: Buffer.from(excludes) }
  if (hiddenTracked.length) files[OUT.hiddenTracked] = Buffer.from(`${hiddenTracked.join('\0')}\0`)
  return files
}

/** The marker that the network policy is in place (OUT.netReady), as a stream into the running container. */
export async function* netReadyStream(user?: { uid: number; gid: number }): AsyncGenerator<Buffer> {
  yield* tarEntry({ path: rel(`${MOUNT.out}/${OUT.netReady}`), type: 'file', mode: 0o600, ...(user ?? { uid: 0, gid: 0 }) })
  yield tarEnd()
}
