// The Docker engine and the test image for e2e tests. In CI a missing engine fails the suite loudly;
// on a developer's machine the e2e tests skip with a clear message.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { execa } from 'execa'

import { TEST_IMAGE, TEST_NET_IMAGE } from './realm.js'

const IMAGE_DIR = path.resolve(import.meta.dirname, '..', 'image')

let engine: Promise<string | undefined> | undefined

/** undefined when the engine answers, otherwise why not. */
function engineProblem(): Promise<string | undefined> {
  engine ??= execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false }).then(
    (r) => (r.exitCode === 0 ? undefined : String(r.stderr).trim().split('\n')[0] || 'docker is not installed'),
    () => 'docker is not installed',
  )
  return engine
}

/**
 * For `describe(..., { skip })`-style use: returns a skip message locally, throws in CI.
 * Call at the top of an e2e file: `const skip = await dockerSkip()`.
 */
export async function dockerSkip(): Promise<string | false> {
  const problem = await engineProblem()
  if (!problem) {
    await ensureTestImage()
    return false
  }
  if (process.env.CI) throw new Error(`e2e tests need a Docker engine and CI has none: ${problem}`)
  const message = `SKIPPED e2e tests: no Docker engine (${problem}); start one to run them`
  console.warn(message)
  return message
}

function imageInputsHash(): string {
  const hash = createHash('sha256')
  for (const file of fs.readdirSync(IMAGE_DIR).sort()) hash.update(file).update(fs.readFileSync(path.join(IMAGE_DIR, file)))
  return hash.digest('hex').slice(0, 12)
}

/**
 * The hash of the inputs a test image was built from (its `realm.test.inputs` label), undefined when the
 * image is missing: a test builds an image again only when this differs from the hash of its inputs now.
 */
export async function imageInputs(image: string): Promise<string | undefined> {
  const result = await execa('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "realm.test.inputs"}}', image], {
    reject: false,
  })
  return result.exitCode === 0 ? result.stdout.trim() : undefined
}

/** Builds the test image when it is missing or its inputs changed (labelled with their hash). */
export async function ensureTestImage(): Promise<void> {
  await ensureNetImage()
  if (process.env.REALM_TEST_IMAGE) return
  const want = imageInputsHash()
  if ((await imageInputs(TEST_IMAGE)) === want) return
  await execa('bash', [path.join(IMAGE_DIR, 'build.sh'), TEST_IMAGE, want], { stdio: 'inherit' })
}

/** realm's network sidecar image, built from this machine's iptables, tcpdump and ip, and docker/net/relay.c (test/image/build-net.sh). */
async function ensureNetImage(): Promise<void> {
  if (process.env.REALM_TEST_NET_IMAGE) return
  const script = path.join(IMAGE_DIR, 'build-net.sh')
  const hash = createHash('sha256')
  const relay = path.join(IMAGE_DIR, '..', '..', 'docker', 'net', 'relay.c')
  for (const file of [script, path.join(IMAGE_DIR, 'rootfs.sh'), relay]) hash.update(fs.readFileSync(file))
  const want = hash.digest('hex').slice(0, 12)
  if ((await imageInputs(TEST_NET_IMAGE)) === want) return
  await execa('bash', [script, TEST_NET_IMAGE, want], { stdio: 'inherit' })
}

/** Asks `check` every 100 ms until it answers (anything but undefined); fails with `failure` after `timeoutMs`. */
async function poll<T>(timeoutMs: number, failure: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const answer = await check()
    if (answer !== undefined) return answer
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(failure)
}

/** How a test asks an engine something: `docker` against the host's engine, unless an engine suite passes its own. */
export type EngineCommand = (args: string[]) => Promise<{ exitCode?: number; stdout: string }>

const hostEngine: EngineCommand = (args) =>
  execa('docker', args, { reject: false }).then((r) => ({ exitCode: r.exitCode, stdout: String(r.stdout) }))

/** The running container of a session's current run (realm names them realm-<session>-<random>). */
export async function sessionContainer(session: string, timeoutMs = 30_000, engine = hostEngine): Promise<string> {
  return poll(timeoutMs, `no running container for session ${session}`, async () => {
    const result = await engine(['ps', '--filter', `name=^realm-${session}-`, '--format', '{{.Names}}'])
    return result.stdout.trim().split('\n')[0] || undefined
  })
}

/** Waits until `path` exists inside the container (the agent got that far). */
export async function waitInContainer(container: string, file: string, timeoutMs = 30_000, engine = hostEngine): Promise<void> {
  await poll(timeoutMs, `${file} never appeared in ${container}`, async () => {
    const result = await engine(['exec', container, 'test', '-e', file])
    return result.exitCode === 0 || undefined
  })
}

export async function docker(...args: string[]): Promise<string> {
  return (await execa('docker', args)).stdout
}
