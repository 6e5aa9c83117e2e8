// Podman for the engine tests, installed and set up by the tests themselves (CI starts on a machine without it):
// Debian's podman, the test image loaded from Docker, Podman's Docker-compatible socket, and a user of its own
// with subordinate ids for rootless Podman, whose storage is the kernel's overlay (its default, vfs, makes an
// image's root directory 0700 where the image's layer does not say otherwise).
import fs from 'node:fs/promises'
import path from 'node:path'

import { execa, type ResultPromise } from 'execa'

import { TEST_IMAGE, TEST_NET_IMAGE } from './realm.js'

/** The user rootless Podman runs as in these tests. */
export const PODMAN_USER = 'realm-podman'

/** Installs podman, uidmap and slirp4netns when podman is missing (root only); undefined when Podman runs, else why not. */
export async function ensurePodman(): Promise<string | undefined> {
  const has = async () => (await execa('podman', ['version', '--format', '{{.Client.Version}}'], { reject: false })).exitCode === 0
  if (await has()) return undefined
  if (process.getuid?.() !== 0) return 'podman is not installed'
  await execa('apt-get', ['update', '-qq'], { reject: false })
  const install = await execa('apt-get', ['install', '-y', '-qq', 'podman', 'uidmap', 'slirp4netns'], {
    reject: false,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  })
  if (install.exitCode !== 0) return `apt-get install podman failed: ${String(install.stderr).split('\n').slice(-1)[0]}`
  return (await has()) ? undefined : 'podman does not run after its install'
}

/** Docker's image id of `image`, which `podman load` keeps. */
async function imageId(program: string[], image: string): Promise<string | undefined> {
  const [cmd, ...args] = program
  const result = await execa(cmd, [...args, 'image', 'inspect', '--format', '{{.Id}}', image], { reject: false })
  return result.exitCode === 0 ? result.stdout.trim().replace(/^sha256:/, '') : undefined
}

/** Loads the test images (realm's and the sidecar's) from Docker into Podman (`program`: podman, or podman as another user). */
export async function loadTestImage(program: string[], tarDir: string): Promise<void> {
  for (const image of [TEST_IMAGE, TEST_NET_IMAGE]) {
    const want = await imageId(['docker'], image)
    if (want && (await imageId(program, image)) === want) continue
    const tar = path.join(tarDir, 'image.tar')
    await execa('docker', ['save', '-o', tar, image])
    await fs.chmod(tar, 0o644)
    const [cmd, ...args] = program
    await execa(cmd, [...args, 'load', '-q', '-i', tar])
    await fs.rm(tar)
  }
}

/** Podman's Docker-compatible API on a socket of the test's own, until `stop`. */
export async function startPodmanService(socket: string, program: string[] = ['podman']): Promise<{ stop(): Promise<void> }> {
  const [cmd, ...args] = program
  await fs.rm(socket, { force: true }) // a service killed earlier may have left its socket: wait for this one's
  const child: ResultPromise = execa(cmd, [...args, 'system', 'service', '--time=0', `unix://${socket}`], { reject: false })
  for (let i = 0; i < 100; i++) {
    if (await fs.stat(socket).catch(() => undefined)) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    async stop() {
      child.kill('SIGTERM')
      await child
    },
  }
}

export interface RootlessUser {
  uid: number
  gid: number
  home: string
  runtimeDir: string
  /** argv prefix that runs a program as the user, with its own HOME and XDG_RUNTIME_DIR */
  as(env?: Record<string, string>): string[]
}

/** The rootless user (made if missing, with subordinate ids), its HOME under `dir`, Podman's storage on overlay. */
export async function rootlessUser(dir: string): Promise<RootlessUser> {
  if ((await execa('id', ['-u', PODMAN_USER], { reject: false })).exitCode !== 0) {
    await execa('useradd', ['--no-create-home', '--shell', '/bin/sh', PODMAN_USER])
  }
  const uid = Number((await execa('id', ['-u', PODMAN_USER])).stdout)
  const gid = Number((await execa('id', ['-g', PODMAN_USER])).stdout)
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = await fs.readFile(file, 'utf8').catch(() => '')
    if (!text.split('\n').some((line) => line.startsWith(`${PODMAN_USER}:`))) {
      await execa('usermod', [file.endsWith('uid') ? '--add-subuids' : '--add-subgids', '400000-465535', PODMAN_USER])
    }
  }
  const home = path.join(dir, 'rootless-home')
  const runtimeDir = `/run/user/${uid}`
  await fs.mkdir(path.join(home, '.config', 'containers'), { recursive: true })
  await fs.writeFile(path.join(home, '.config', 'containers', 'storage.conf'), '[storage]\ndriver = "overlay"\n')
  await fs.mkdir(runtimeDir, { recursive: true })
  for (const p of [dir, home, runtimeDir]) await fs.chmod(p, p === dir ? 0o755 : 0o700)
  await execa('chown', ['-R', `${uid}:${gid}`, home, runtimeDir])
  const as = (env: Record<string, string> = {}) => [
    'setpriv',
    '--reuid',
    String(uid),
    '--regid',
    String(gid),
    '--init-groups',
    'env',
    '-i',
    `HOME=${home}`,
    `XDG_RUNTIME_DIR=${runtimeDir}`,
    `PATH=${process.env.PATH}`,
    `USER=${PODMAN_USER}`,
    `LOGNAME=${PODMAN_USER}`,
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
  ]
  return { uid, gid, home, runtimeDir, as }
}

/** The running container of a session's current run, as Podman lists it. */
export async function podmanContainer(program: string[], session: string, timeoutMs = 60_000): Promise<string> {
  const [cmd, ...args] = program
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const result = await execa(cmd, [...args, 'ps', '--filter', `name=^realm-${session}-`, '--format', '{{.Names}}'], { reject: false })
    const name = result.stdout.trim().split('\n')[0]
    if (name) return name
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no running container for session ${session}`)
}
