// The Docker engine and the test image for e2e tests. In CI a missing engine fails the suite loudly;
// on a developer's machine the e2e tests skip with a clear message.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { execa } from 'execa'

import { TEST_IMAGE } from './realm.js'

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

/** Builds the test image when it is missing or its inputs changed (labelled with their hash). */
export async function ensureTestImage(): Promise<void> {
  if (process.env.REALM_TEST_IMAGE) return
  const want = imageInputsHash()
  const have = await execa('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "realm.test.inputs"}}', TEST_IMAGE], {
    reject: false,
  })
  if (have.exitCode === 0 && have.stdout.trim() === want) return
  await execa('bash', [path.join(IMAGE_DIR, 'build.sh'), TEST_IMAGE, want], { stdio: 'inherit' })
}

/** The running container of a session's current run (realm names them realm-<session>-<random>). */
export async function sessionContainer(session: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const result = await execa('docker', ['ps', '--filter', `name=^realm-${session}-`, '--format', '{{.Names}}'], { reject: false })
    const name = result.stdout.trim().split('\n')[0]
    if (name) return name
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no running container for session ${session}`)
}

/** Waits until `path` exists inside the container (the agent got that far). */
export async function waitInContainer(container: string, file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await execa('docker', ['exec', container, 'test', '-e', file], { reject: false })).exitCode === 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${file} never appeared in ${container}`)
}

export async function docker(...args: string[]): Promise<string> {
  return (await execa('docker', args)).stdout
}
