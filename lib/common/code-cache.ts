// V8's code cache of realm's bundle, kept in $REALM_HOME/cache (see boot.ts, which uses it). The cache is code
// that realm runs, so it is read only from where nobody else can write: $REALM_HOME and its cache directory
// owned by the user and closed to everyone else (realm makes them so), the file the same, not followed through
// a link. V8 takes a cache only for the V8 version and flags that made it, but tells sources apart by their
// length alone; so the file's name holds a hash of the very source (and of Node's version, its flags and the
// kind of command), and a cache is only ever offered to the source it was made from. Nothing here throws: a
// cache that cannot be read or written only costs the compile.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/** A cache larger than this is not realm's (the bundle's own is about half a megabyte). */
const MAX_CACHE_BYTES = 16 * 1024 * 1024
/** The room a cache must leave free on its disk, else it is not written. */
const ROOM_LEFT_BYTES = 64 * 1024 * 1024

/** The commands that run the agent, whose start realm's speed targets are about, get a cache of their own. */
export function commandKind(argv: string[]): 'run' | 'other' {
  return argv[2] === 'new' || argv[2] === 'resume' ? 'run' : 'other'
}

/** The cache's file name: the kind of command, and a hash of everything the cache is only good for. */
export function cacheName(source: string, kind: string, node = `${process.version} ${process.arch} ${process.execArgv.join(' ')}`): string {
  const hash = createHash('sha256').update(`${kind}\0${node}\0`).update(source).digest('hex').slice(0, 32)
  return `${kind}-${hash}.v8`
}

/** Whether `stat` is the user's own and closed to everyone else. */
function ownAndClosed(stat: fs.Stats, uid = process.getuid?.()): boolean {
  return (uid === undefined || stat.uid === uid) && (stat.mode & 0o077) === 0
}

/** Whether realm may read or write its cache in `dir` (under `home`): both are private directories of the user's. */
export function trustedDir(home: string, dir: string): boolean {
  try {
    const homeStat = fs.statSync(home)
    const dirStat = fs.lstatSync(dir)
    return homeStat.isDirectory() && ownAndClosed(homeStat) && dirStat.isDirectory() && ownAndClosed(dirStat)
  } catch {
    return false
  }
}

/** The cache in `file`, if it is a private regular file of the user's (never through a link) of a sane size. */
export function readCache(file: string): Buffer | undefined {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK)
    const stat = fs.fstatSync(fd)
    if (!stat.isFile() || !ownAndClosed(stat) || stat.size > MAX_CACHE_BYTES) return undefined
    return fs.readFileSync(fd)
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * Writes the cache `name` in `dir` (made private, when $REALM_HOME is there and the user's own; else nothing is
 * written), whole or not at all, and removes the caches of the same kind that other builds of realm left.
 */
export function writeCache(home: string, dir: string, name: string, data: Buffer): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch {
    // there already (trustedDir says whether it may be used), or no home to make it in
  }
  if (!trustedDir(home, dir)) return
  // Never the cache that fills the disk: realm's sessions need the room more.
  try {
    const free = fs.statfsSync(dir)
    if (free.bavail * free.bsize < data.length * 2 + ROOM_LEFT_BYTES) return
  } catch {
    return
  }
  const temp = path.join(dir, `.${name}.${process.pid}`)
  try {
    const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600)
    try {
      // writeFileSync writes it all or throws (a single write may stop short on a full disk).
      fs.writeFileSync(fd, data)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(temp, path.join(dir, name))
  } catch {
    fs.rmSync(temp, { force: true })
    return
  }
  const kind = name.slice(0, name.indexOf('-') + 1)
  try {
    for (const old of fs.readdirSync(dir)) {
      if (old !== name && old.startsWith(kind) && old.endsWith('.v8')) fs.rmSync(path.join(dir, old), { force: true })
    }
  } catch {
    // left for the next build's cache to remove
  }
}
