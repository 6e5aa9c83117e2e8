// What the privilege tests need besides the ordinary test image: a real Debian with the tools an attacker reaches
// for (test/hostile/), and other uids on the host, made with setpriv (no user accounts are created).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { execa, type Options } from 'execa'

import { imageInputs } from './docker.js'

const HOSTILE_DIR = path.resolve(import.meta.dirname, '..', 'hostile')
const STANDIN = path.resolve(import.meta.dirname, '..', 'image', 'claude-standin.sh')

export const HOSTILE_IMAGE = process.env.REALM_TEST_HOSTILE_IMAGE ?? 'realm-test-hostile:latest'
const BASE_IMAGE = process.env.REALM_CLAUDE_BASE_IMAGE ?? 'realm-debian-base:bookworm'

/** Builds the image when it is missing or its inputs changed (the Debian base first, if need be: a few minutes). */
export async function ensureHostileImage(): Promise<void> {
  if (process.env.REALM_TEST_HOSTILE_IMAGE) return
  const hash = createHash('sha256').update(BASE_IMAGE)
  for (const file of [
    ...fs
      .readdirSync(HOSTILE_DIR)
      .sort()
      .map((f) => path.join(HOSTILE_DIR, f)),
    STANDIN,
  ]) {
    hash.update(path.basename(file)).update(fs.readFileSync(file))
  }
  const want = hash.digest('hex').slice(0, 12)
  if ((await imageInputs(HOSTILE_IMAGE)) === want) return
  await execa('bash', [path.join(HOSTILE_DIR, 'build.sh'), HOSTILE_IMAGE, want, BASE_IMAGE], { stdio: 'inherit' })
}

/** A uid with no account, as setpriv takes it: its own gid and no supplementary groups but `groups`. */
export interface Uid {
  uid: number
  groups?: number[]
}

/**
 * `argv` as another uid (needs root): `setpriv --reuid U --regid U`, only `groups` as supplementary groups. setpriv
 * keeps root's capabilities until it executes, and the kernel looks the program's path up with them, so a
 * program in a directory only root may enter would still run: a shell in between drops them first.
 */
export function asUid(user: Uid, argv: string[], options: Options = {}) {
  const groups = user.groups?.length ? ['--groups', user.groups.join(',')] : ['--clear-groups']
  const dropped = ['/bin/sh', '-c', 'exec "$@"', 'sh', ...argv]
  return execa('setpriv', ['--reuid', String(user.uid), '--regid', String(user.uid), ...groups, '--', ...dropped], {
    reject: false,
    ...options,
  })
}

/** The group that owns the Docker socket, so that a non-root realm can reach the engine (as a docker group member would). */
export function dockerSocketGroup(socket = '/var/run/docker.sock'): number {
  return fs.statSync(socket).gid
}

export interface Entry {
  path: string
  mode: number
  kind: string
}

/** Every entry under `dir`, never following a link (as root, which sees all): what a hostile agent left behind. */
export async function walk(dir: string): Promise<Entry[]> {
  const found: Entry[] = []
  const stack = [dir]
  while (stack.length) {
    const current = stack.pop() as string
    const stat = await fs.promises.lstat(current)
    const kind = stat.isDirectory()
      ? 'dir'
      : stat.isFile()
        ? 'file'
        : stat.isSymbolicLink()
          ? 'link'
          : stat.isCharacterDevice()
            ? 'char'
            : stat.isBlockDevice()
              ? 'block'
              : stat.isFIFO()
                ? 'fifo'
                : 'socket'
    found.push({ path: current, mode: stat.mode & 0o7777, kind })
    if (kind === 'dir') for (const name of await fs.promises.readdir(current)) stack.push(path.join(current, name))
  }
  return found
}
