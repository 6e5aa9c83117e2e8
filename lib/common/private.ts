// realm's state is the user's alone, the way ssh keeps ~/.ssh: $REALM_HOME and every directory realm makes in it
// are 0700, every file 0600. The container writes into some of these directories (the upper layer, the output
// directory, the conversation history) as the user's uid, or as root when realm runs as root; a directory chain
// no other uid can traverse is what keeps a setuid copy of a shell, planted there, out of everyone else's reach.
import fsSync from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'

import { UserError, errorCode } from './errors.js'
import { realmHome } from './paths.js'
import { sweepTree } from './sweep.js'

export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

/**
 * Makes `dir` (and what is missing above it) private. An existing directory is made private too: realm only
 * calls this for its own directories, and one the container writes into may have been opened up by the agent.
 */
export async function privateDir(dir: string): Promise<void> {
  if ((await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })) !== undefined) return
  const stat = await fs.lstat(dir)
  if (stat.isDirectory() && (stat.mode & 0o7077) !== 0) await fs.chmod(dir, stat.mode & PRIVATE_DIR_MODE)
}

/** The synchronous twin of privateDir, for set-up code that must not yield. */
export function privateDirSync(dir: string): void {
  if (fsSync.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE }) !== undefined) return
  const stat = fsSync.lstatSync(dir)
  if (stat.isDirectory() && (stat.mode & 0o7077) !== 0) fsSync.chmodSync(dir, stat.mode & PRIVATE_DIR_MODE)
}

/** A copy of `from` at `to` that only the user can read, whatever the mode of `from`. */
export async function copyPrivate(from: string, to: string, flags?: number): Promise<void> {
  await fs.copyFile(from, to, flags)
  await fs.chmod(to, PRIVATE_FILE_MODE)
}

/** The members of the group `gid` from /etc/group, and the users whose primary group it is from /etc/passwd. */
async function groupMembers(gid: number): Promise<Set<string>> {
  const members = new Set<string>()
  const read = (file: string) => fs.readFile(file, 'utf8').catch(() => '')
  for (const line of (await read('/etc/group')).split('\n')) {
    const [, , id, list] = line.split(':')
    if (Number(id) === gid && list) for (const name of list.split(',')) if (name.trim()) members.add(name.trim())
  }
  for (const line of (await read('/etc/passwd')).split('\n')) {
    const [name, , , id] = line.split(':')
    if (name && Number(id) === gid) members.add(name)
  }
  return members
}

/**
 * Whether group write on a file of group `gid` is only the user's own: a user-private group (the default on
 * Debian and Ubuntu, where a umask of 002 makes every new directory group-writable) has no other member.
 * OpenSSH accepts a group-writable ~/.ssh on the same grounds.
 */
async function privateGroup(gid: number, user: string): Promise<boolean> {
  const members = await groupMembers(gid)
  return [...members].every((name) => name === user)
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`
}

/**
 * Checks $REALM_HOME before a command uses it. Missing: fine (it is made private when first needed). Not the
 * user's: refused. Writable by another user: refused, since what is in it (patches, the allow list, the kept
 * Claude login) may have been changed by them; the user checks, then tightens it. Only readable by others (as
 * realm made it before, or after a chmod): made private again with everything in it, and the returned line says
 * so. ssh refuses in both cases, because a key that others could read is already spent; realm's state is not a
 * secret that reading spends, so a readable one is repaired rather than refused.
 */
export async function securePrivateHome(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const home = realmHome(env)
  let stat: Awaited<ReturnType<typeof fs.stat>>
  try {
    stat = await fs.stat(home)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw new UserError(
      `cannot use REALM_HOME ${home}: ${errorCode(error) ?? (error as Error).message} — set REALM_HOME to a directory of yours`,
    )
  }
  if (!stat.isDirectory()) throw new UserError(`REALM_HOME ${home} is not a directory — move it away or set REALM_HOME elsewhere`)
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid) {
    throw new UserError(`REALM_HOME ${home} belongs to uid ${stat.uid}, not to you — set REALM_HOME to a directory of your own`)
  }
  if ((stat.mode & 0o077) === 0) return undefined
  const othersWrite = (stat.mode & 0o002) !== 0 || ((stat.mode & 0o020) !== 0 && !(await privateGroup(stat.gid, userName())))
  if (othersWrite) {
    throw new UserError(
      `REALM_HOME ${home} is writable by other users (mode ${octal(stat.mode)}), so what is in it cannot be trusted — check its contents, then run 'chmod 700 ${home}'`,
    )
  }
  try {
    await fs.chmod(home, PRIVATE_DIR_MODE)
  } catch (error) {
    throw new UserError(
      `cannot make REALM_HOME ${home} private (${errorCode(error) ?? (error as Error).message}) — put it on a file system with Unix permissions, or set REALM_HOME elsewhere`,
    )
  }
  await sweepTree(home)
  return `realm: ${home} was open to other users (mode ${octal(stat.mode)}); made it and everything in it private (0700)`
}

/** The user's name as the system knows it; empty when the uid has no passwd entry (a container's user, say). */
function userName(): string {
  try {
    return os.userInfo().username
  } catch {
    return ''
  }
}
