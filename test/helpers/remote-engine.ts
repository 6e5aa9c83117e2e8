// A remote Docker engine's stand-in: a second dockerd in a container on this machine (test/remote-engine/),
// reached over tcp, whose filesystem is its own, so that no path of the host exists there, as on a real remote
// host. One per test file (before/after hooks). In CI an engine that cannot start fails the file loudly, with
// the dockerd log; on a developer's machine the tests skip with the reason.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { execa } from 'execa'

import { imageInputs } from './docker.js'

const ENGINE_DIR = path.resolve(import.meta.dirname, '..', 'remote-engine')
const REMOTE_ENGINE_IMAGE = process.env.REALM_TEST_REMOTE_ENGINE_IMAGE ?? 'realm-remote-engine:latest'
const BASE_IMAGE = process.env.REALM_CLAUDE_BASE_IMAGE ?? 'realm-debian-base:bookworm'
const PORT = 2375

/**
 * What a nested dockerd needs where `--privileged` is refused: the capabilities to mount, set up networks and make
 * device nodes, no seccomp or AppArmor filter, the host's cgroups writable, and a tmpfs for its images and layers
 * (an overlay upper layer cannot lie on the container's own overlay root).
 */
function engineFlags(disk: string): string[] {
  return [
    ...['SYS_ADMIN', 'NET_ADMIN', 'MKNOD', 'SYS_PTRACE'].flatMap((cap) => ['--cap-add', cap]),
    ...['seccomp=unconfined', 'apparmor=unconfined'].flatMap((opt) => ['--security-opt', opt]),
    '-v',
    '/sys/fs/cgroup:/sys/fs/cgroup:rw',
    '--tmpfs',
    `/var/lib/docker:exec,size=${disk}`,
  ]
}

export interface RemoteEngine {
  /** what realm (or docker) needs to talk to the stand-in: DOCKER_HOST=tcp://IP:2375 */
  env: { DOCKER_HOST: string }
  /** the stand-in's address on this machine's bridge */
  host: string
  /** its container's name on the host's engine */
  container: string
  /** copies images from the host's engine into the stand-in (docker save | docker load) */
  load(...images: string[]): Promise<void>
  /** dockerd's own log, for a failure message */
  log(): Promise<string>
  /** removes the stand-in and everything in it */
  stop(): Promise<void>
}

export interface RemoteEngineOptions {
  /** images to load from the host's engine once it answers */
  images?: string[]
  /** size of the tmpfs holding the stand-in's images, layers and volumes (default 6g, REALM_TEST_REMOTE_DISK) */
  disk?: string
  /** how long dockerd may take to answer */
  timeoutMs?: number
}

/** Builds the stand-in's image when it is missing or its inputs changed (the Debian base first, if need be). */
export async function ensureRemoteEngineImage(): Promise<void> {
  if (process.env.REALM_TEST_REMOTE_ENGINE_IMAGE) return
  const hash = createHash('sha256').update(BASE_IMAGE)
  for (const file of fs.readdirSync(ENGINE_DIR).sort()) hash.update(file).update(fs.readFileSync(path.join(ENGINE_DIR, file)))
  const want = hash.digest('hex').slice(0, 12)
  if ((await imageInputs(REMOTE_ENGINE_IMAGE)) === want) return
  await execa('bash', [path.join(ENGINE_DIR, 'build.sh'), REMOTE_ENGINE_IMAGE, want, BASE_IMAGE], { stdio: 'inherit' })
}

/** The host's engine, whatever DOCKER_HOST the test process was given for the stand-in. */
function hostDocker(args: string[]) {
  return execa('docker', args, { reject: false, env: { DOCKER_HOST: undefined }, extendEnv: true })
}

async function containerLog(container: string): Promise<string> {
  const result = await hostDocker(['logs', '--tail', '60', container])
  return `${result.stdout}\n${result.stderr}`.trim() || '(no log)'
}

/** Starts a stand-in engine and waits until it answers; throws with dockerd's log when it does not. */
export async function startRemoteEngine(options: RemoteEngineOptions = {}): Promise<RemoteEngine> {
  await ensureRemoteEngineImage()
  const container = `realm-remote-standin-${randomBytes(4).toString('hex')}`
  const disk = options.disk ?? process.env.REALM_TEST_REMOTE_DISK ?? '6g'
  const run = await hostDocker([
    'run',
    '-d',
    '--name',
    container,
    '--label',
    'realm.test=remote-engine',
    ...engineFlags(disk),
    REMOTE_ENGINE_IMAGE,
  ])
  if (run.exitCode !== 0) throw new Error(`the remote engine stand-in did not start: ${String(run.stderr).trim()}`)
  const stop = async () => {
    await hostDocker(['rm', '-f', '-v', container])
  }
  try {
    const inspect = await hostDocker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', container])
    const host = String(inspect.stdout).trim().split(/\s+/)[0]
    if (!host) throw new Error('it has no address on the host bridge')
    const env = { DOCKER_HOST: `tcp://${host}:${PORT}` }
    await waitUntilAnswers(container, env, options.timeoutMs ?? 60_000)
    const engine: RemoteEngine = {
      env,
      host,
      container,
      load: (...images) => loadImages(env, images),
      log: () => containerLog(container),
      stop,
    }
    if (options.images?.length) await engine.load(...options.images)
    return engine
  } catch (error) {
    const log = await containerLog(container)
    await stop()
    throw new Error(`the remote engine stand-in ${container} did not come up: ${(error as Error).message}\n--- dockerd log\n${log}`)
  }
}

/** `docker info` against the stand-in until it names its version (it prints an empty one while dockerd starts). */
async function waitUntilAnswers(container: string, env: { DOCKER_HOST: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, env, timeout: 10_000 })
    if (info.exitCode === 0 && String(info.stdout).trim()) return
    last = String(info.stderr).trim().split('\n')[0] ?? ''
    const state = await hostDocker(['inspect', '--format', '{{.State.Running}}', container])
    if (String(state.stdout).trim() !== 'true') throw new Error('its container exited')
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`docker info got no answer within ${timeoutMs / 1000}s (${last || 'no error'})`)
}

async function loadImages(env: { DOCKER_HOST: string }, images: string[]): Promise<void> {
  for (const image of images) {
    const result = await execa('docker', ['save', image], { env: { DOCKER_HOST: undefined }, extendEnv: true }).pipe(
      'docker',
      ['load', '-q'],
      {
        env,
        reject: false,
      },
    )
    if (result.exitCode !== 0) throw new Error(`loading ${image} into the remote engine stand-in failed: ${String(result.stderr).trim()}`)
  }
}

/**
 * For an e2e file's top: the stand-in, or a skip message on a developer's machine where it cannot start (the
 * reason and dockerd's log are printed); in CI that failure is thrown, loudly.
 */
export async function remoteEngineOrSkip(options: RemoteEngineOptions = {}): Promise<{ engine?: RemoteEngine; skip: string | false }> {
  try {
    return { engine: await startRemoteEngine(options), skip: false }
  } catch (error) {
    const message = (error as Error).message
    if (process.env.CI) throw new Error(`e2e tests need the remote engine stand-in and it failed in CI: ${message}`)
    console.warn(`SKIPPED remote engine tests: ${message}`)
    return { skip: `SKIPPED: the remote engine stand-in did not start (${message.split('\n')[0]})` }
  }
}
