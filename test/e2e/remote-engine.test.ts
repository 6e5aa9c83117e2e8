// realm on a remote Docker engine: a second dockerd in a container on this machine, reached over tcp, where no
// path of the host exists (test/helpers/remote-engine.ts). realm finds that out by asking the engine, streams
// the workspace in (with a per-project cache of the objects on the engine) and the work back, and a run whose
// realm process dies is fetched by the next command. Every failure is one line that says what to do.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip, ensureTestImage } from '../helpers/docker.js'
import { explain, type RealmResult, realm, shellQuote, startRealm, TEST_IMAGE, TEST_NET_IMAGE, tempDir } from '../helpers/realm.js'
import { type RemoteEngine, remoteEngineOrSkip } from '../helpers/remote-engine.js'
import { addOrigin, changeFiles, fileEntry, git, makeRepo, pushedTree } from '../helpers/repo.js'
import { sessionFile } from '../helpers/session.js'

const hostSkip = await dockerSkip()
if (!hostSkip) await ensureTestImage()
const { engine, skip: engineSkip } = hostSkip
  ? { engine: undefined, skip: hostSkip }
  : await remoteEngineOrSkip({ images: [TEST_IMAGE, TEST_NET_IMAGE], disk: '3g' })
const skip = hostSkip || engineSkip

/** docker against the stand-in engine. */
async function remoteDocker(...args: string[]): Promise<string> {
  const result = await execa('docker', args, { env: engine?.env, reject: false })
  return `${result.stdout}${result.stderr}`
}

/** The names of the containers on the stand-in engine, running or not. */
async function remoteContainers(): Promise<string[]> {
  return (await remoteDocker('ps', '-a', '--format', '{{.Names}}')).split('\n').filter(Boolean)
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await check()
    if (answer !== undefined) return answer
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** The processes of this machine whose arguments end with `args` (read from /proc). */
async function processesRunning(args: string[]): Promise<number[]> {
  const tail = `${args.join('\0')}\0`
  const found: number[] = []
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.endsWith(tail)) found.push(Number(pid))
  }
  return found
}

/** The trace line that says how many bytes of objects a run sent, and against how many cached commits. */
function objectsSent(result: RealmResult): { bytes: number; cached: number } {
  const match = /objects sent: (\d+) bytes, against (\d+) cached commit/.exec(result.stderr)
  assert.ok(match, `the run traced what it sent\n${explain(result)}`)
  return { bytes: Number(match[1]), cached: Number(match[2]) }
}

/** stderr's lines that are realm's own (no trace lines). */
function said(result: RealmResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('realm: '))
}

describe('a remote Docker engine', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  let cleanup: () => Promise<void>
  let remote: RemoteEngine

  before(async () => {
    if (!engine) return
    remote = engine
    const dir = await tempDir('realm-remote-')
    cleanup = dir.cleanup
    tmp = dir.path
    home = path.join(tmp, 'home')
    project = await makeRepo(path.join(tmp, 'project'), {
      'README.md': '# project\n',
      'src/a.txt': 'a\n',
      '.gitignore': 'deps/\n',
    })
    await addOrigin(project, path.join(tmp, 'origin.git'))
    // The user's work in progress, which the session starts from: an edit, an untracked file, ignored files and
    // a secret file realm hides.
    await changeFiles(project, {
      'src/a.txt': 'a\nuncommitted\n',
      'notes.txt': 'untracked\n',
      'deps/lib.js': 'ignored\n',
      '.env': 'SECRET=hunter2\n',
    })
  })
  after(async () => {
    await cleanup?.()
    await engine?.stop()
  })

  /** Every patch file of the session and its history, by name. */
  async function sessionPatches(name: string): Promise<Record<string, string>> {
    const dir = path.dirname(sessionFile(home, name, 'x'))
    const files: Record<string, string> = {}
    for (const file of await fs.readdir(dir, { recursive: true }))
      if (/\.patch$|runs/.test(file)) files[file] = await fs.readFile(path.join(dir, file), 'utf8').catch(() => 'a directory')
    return files
  }

  const run = (args: string[], env: Record<string, string | undefined> = {}) =>
    realm(args, { cwd: project, home, env: { ...remote.env, REALM_NETWORK: 'open', REALM_TRACE: '1', ...env }, timeout: 180_000 })

  test("new: the engine is found remote by asking it; the workspace goes in as a copy with the user's work, no secret and no ignored file", async () => {
    const result = await run([
      'new',
      'first',
      'test "$(cat src/a.txt)" = "$(printf "a\\nuncommitted")"',
      'test -f notes.txt',
      'test ! -e .env && test ! -e deps',
      'echo agent > agent.txt',
      'echo more >> README.md',
    ])
    assert.equal(result.code, 0, explain(result))
    assert.ok(
      said(result).includes(
        "realm: the Docker engine is remote (it cannot see this machine's files): the project goes in as a copy, in the container's memory",
      ),
      explain(result),
    )
    assert.match(result.stderr, /workspace: copy/)
    const engines = await fs.readdir(path.join(home, 'engines'))
    const location = engines.find((name) => name.endsWith('.location'))
    assert.ok(location, 'the answer is kept per engine')
    assert.equal((await fs.readFile(path.join(home, 'engines', location), 'utf8')).trim(), 'remote')
    assert.equal(objectsSent(result).cached, 0, 'the first run sends every object')
    assert.ok(objectsSent(result).bytes > 0)
    const patch = await fs.readFile(sessionFile(home, 'first', 'changes.patch'), 'utf8')
    assert.match(patch, /^\+agent$/m)
    assert.match(patch, /^\+more$/m)
    const baseline = await fs.readFile(sessionFile(home, 'first', 'baseline.patch'), 'utf8')
    assert.match(baseline, /^\+uncommitted$/m)
    assert.match(baseline, /notes\.txt/)
    assert.doesNotMatch(baseline, /hunter2|\.env|deps/)
    assert.deepEqual(await remoteContainers(), [], 'the container is removed once its work is fetched')
    await assert.rejects(fs.access(path.join(home, 'overlay-unsupported')))
  })

  test("resume: the patch accumulates, and the objects come from the engine's cache (nothing sent)", async () => {
    const result = await run(['resume', 'first', 'grep -q agent agent.txt', 'echo again >> agent.txt'])
    assert.equal(result.code, 0, explain(result))
    assert.deepEqual(objectsSent(result), { bytes: 0, cached: 1 })
    const diff = await run(['diff', 'first'])
    assert.match(diff.stdout, /^\+agent$/m)
    assert.match(diff.stdout, /^\+again$/m)
    assert.match(diff.stdout, /^\+more$/m)
  })

  test('--include-ignored sends the ignored files, never the hidden ones', async () => {
    await changeFiles(project, { 'deps/.env': 'SECRET=hunter2\n' })
    const result = await run([
      'resume',
      'first',
      '--include-ignored',
      'test "$(cat deps/lib.js)" = ignored',
      'test ! -e deps/.env',
      'test ! -e .env',
    ])
    assert.equal(result.code, 0, explain(result))
    await fs.rm(path.join(project, 'deps', '.env'))
  })

  test('a new commit: the next session sends only the new objects; a cache removed or emptied gets everything again', async () => {
    await changeFiles(project, { 'big.txt': 'x'.repeat(50_000) })
    await git(project, 'add', 'big.txt')
    await git(project, 'commit', '-q', '-m', 'big')
    await changeFiles(project, { 'small.txt': 'small\n' })
    await git(project, 'add', 'small.txt')
    await git(project, 'commit', '-q', '-m', 'small')
    const incremental = await run(['new', 'second', 'test -f big.txt && test -f small.txt && test -f src/a.txt'])
    assert.equal(incremental.code, 0, explain(incremental))
    const sent = objectsSent(incremental)
    assert.equal(sent.cached, 1, 'made against the commit the cache holds')
    assert.ok(sent.bytes > 0 && sent.bytes < 2000, `only the two new commits' objects (${sent.bytes} bytes)`)

    const volumes = (await remoteDocker('volume', 'ls', '--format', '{{.Name}}')).split('\n').filter((v) => v.startsWith('realm-cache-'))
    assert.equal(volumes.length, 1, 'one cache volume for the project')
    // A removed cache: realm sees the volume is gone and sends everything at once.
    assert.equal((await remoteDocker('volume', 'rm', volumes[0])).trim(), volumes[0])
    const again = await run(['resume', 'second', 'test -f big.txt && echo ok > ok.txt'])
    assert.equal(again.code, 0, explain(again))
    assert.doesNotMatch(again.stderr, /cache miss/)
    assert.ok(/objects sent: [1-9]\d* bytes, against 0 cached commits/.test(again.stderr), explain(again))
    assert.match(await fs.readFile(sessionFile(home, 'second', 'changes.patch'), 'utf8'), /^\+ok$/m)
    // A cache that lacks what realm recorded (an empty volume of the same name): the container says so, and
    // realm sends everything again.
    await remoteDocker('volume', 'rm', volumes[0])
    await remoteDocker('volume', 'create', volumes[0])
    const missed = await run(['resume', 'second', 'test -f big.txt && echo missed > missed.txt'])
    assert.equal(missed.code, 0, explain(missed))
    assert.match(missed.stderr, /cache miss/)
    assert.ok(/objects sent: [1-9]\d* bytes, against 0 cached commits/.test(missed.stderr), explain(missed))
    assert.match(await fs.readFile(sessionFile(home, 'second', 'changes.patch'), 'utf8'), /^\+missed$/m)
  })

  test("the agent's container cannot write the cache", async () => {
    const result = await run([
      'resume',
      'second',
      'if touch /realm/cache/objects/planted 2>/dev/null; then exit 3; fi',
      'echo tried > tried.txt',
    ])
    assert.equal(result.code, 0, explain(result))
  })

  test('apply and push bring the work back to the host', async () => {
    const applied = await run(['apply', 'first'])
    assert.equal(applied.code, 0, explain(applied))
    assert.equal(await fs.readFile(path.join(project, 'agent.txt'), 'utf8'), 'agent\nagain\n')
    const pushed = await run(['push', 'first'])
    assert.equal(pushed.code, 0, explain(pushed))
    const tree = await pushedTree(path.join(tmp, 'origin.git'), 'first')
    assert.equal(tree['agent.txt'], fileEntry('agent\nagain\n'))
    await git(project, 'checkout', '-q', '--', '.')
    await fs.rm(path.join(project, 'agent.txt'))
  })

  /** Starts `realm args` on the stand-in and kills it (SIGKILL) once its container has run for a moment. */
  async function killOnceRunning(args: string[]) {
    const child = startRealm(args, { cwd: project, home, env: { ...remote.env, REALM_NETWORK: 'open' } })
    // Running, not only created (the engine creates it while realm still reads the project).
    await until('the run to start on the engine', async () =>
      (await remoteDocker('ps', '--filter', 'name=realm-cut-', '--format', '{{.Names}}')).trim() ? true : undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, 1500))
    child.kill('SIGKILL')
    // Wrapped: the child is a promise, which an async function's result would await.
    return { child }
  }

  test('realm killed mid-run: the container finishes on the engine; list and diff fetch and show it, resume saves it', async () => {
    const { child } = await killOnceRunning(['new', 'cut', 'echo early > early.txt', 'sleep 6', 'echo late > late.txt'])
    await child.catch(() => undefined)
    await until('the container to finish on its own', async () =>
      (await remoteDocker('ps', '-a', '--filter', 'name=realm-cut-', '--format', '{{.Status}}')).startsWith('Exited') ? true : undefined,
    )
    const listed = await run(['list'])
    assert.match(listed.stdout, /^cut .*interrupted run not yet saved\)$/m, explain(listed))
    assert.deepEqual(await remoteContainers(), [], 'fetched, then removed from the engine')
    const diff = await run(['diff', 'cut'])
    assert.match(diff.stdout, /^\+early$/m)
    assert.match(diff.stdout, /^\+late$/m, "the container finished the agent's work after realm died")
    const resumed = await run(['resume', 'cut', 'test -f late.txt'])
    assert.equal(resumed.code, 0, explain(resumed))
    assert.ok(said(resumed).includes("realm: recovered the interrupted run of 'cut' (its final capture)"), explain(resumed))
    assert.match(await fs.readFile(sessionFile(home, 'cut', 'base.patch'), 'utf8'), /^\+late$/m)
  })

  test('realm killed while the container still runs: resume stops it, fetches its capture and saves it', async () => {
    const { child } = await killOnceRunning(['resume', 'cut', 'echo during > during.txt', 'sleep 600'])
    // realm dies, and its connection to the engine with it: the docker client attached to the container goes too.
    const container = (await remoteDocker('ps', '--filter', 'name=realm-cut-', '--format', '{{.Names}}')).trim()
    for (const pid of await processesRunning(['start', '--attach', '--interactive', container])) process.kill(pid, 'SIGKILL')
    await child.catch(() => undefined)
    const resumed = await run(['resume', 'cut', 'test -f during.txt'])
    assert.equal(resumed.code, 0, explain(resumed))
    assert.ok(
      said(resumed).some((line) => line.startsWith("realm: recovered the interrupted run of 'cut'")),
      explain(resumed),
    )
    assert.deepEqual(await remoteContainers(), [])
  })

  const secretOnEngine = '/etc/hostname'
  const out = '/realm/out'
  for (const [what, script, file, why] of [
    [
      'a link',
      [`ln -sfn ${secretOnEngine} ${out}/changes.patch`, `mkdir -p ${out}/changes.patch.tmp`],
      'changes.patch',
      'is a symbolic link',
    ],
    ['a FIFO', [`rm -f ${out}/exit_code && mkfifo ${out}/exit_code`, `mkdir -p ${out}/exit_code.tmp`], 'exit_code', 'is a FIFO'],
    [
      'an 8 GB sparse file',
      [`truncate -s 8G ${out}/snapshot.patch`, `mkdir -p ${out}/snapshot.patch.tmp ${out}/changes.patch.tmp`],
      'snapshot.patch',
      'is 8589934592 bytes',
    ],
  ] as const) {
    test(`a hostile agent that leaves ${what} in place of ${file}: the run is refused in one line, nothing of it kept`, async () => {
      const before = await sessionPatches('first')
      const started = Date.now()
      const result = await run(['resume', 'first', 'echo hostile > hostile.txt', ...script], { REALM_TRACE: undefined })
      assert.notEqual(result.code, 0, explain(result))
      const lines = said(result).filter((line) => !/engine is remote|credential/.test(line))
      assert.equal(lines.length, 1, explain(result))
      assert.ok(lines[0].startsWith(`realm: refused this run's output: ${file} ${why}`), explain(result))
      assert.ok(Date.now() - started < 60_000, 'refused without reading the whole file')
      assert.deepEqual(await sessionPatches('first'), before, "the session's patches are as they were")
      assert.deepEqual(await remoteContainers(), [])
      const next = await run(['diff', 'first'])
      assert.doesNotMatch(next.stdout + next.stderr, /hostile|interrupted/)
    })
  }

  test('an engine that cannot be reached: one line, what to check', async () => {
    const result = await run(['new', 'nowhere', 'true'], { DOCKER_HOST: `tcp://${remote.host}:2399` })
    assert.notEqual(result.code, 0)
    const lines = said(result)
    assert.equal(lines.length, 1, explain(result))
    assert.match(lines[0], /cannot reach the Docker .*check DOCKER_HOST/)
    await assert.rejects(fs.access(sessionFile(home, 'nowhere', 'session.json')))
  })

  test('an image the remote engine lacks: one line saying how to copy it there', async () => {
    const result = await run(['new', 'noimage', 'true'], { REALM_IMAGE: 'realm-remote-absent:latest' })
    assert.notEqual(result.code, 0)
    const lines = said(result)
    assert.equal(lines.length, 1, explain(result))
    assert.equal(
      lines[0],
      `realm: image 'realm-remote-absent:latest' is not on the Docker engine (DOCKER_HOST=${remote.env.DOCKER_HOST}), which is remote — copy it there with 'docker save realm-remote-absent:latest | DOCKER_HOST=${remote.env.DOCKER_HOST} docker load', or build it there`,
    )
  })

  test('a bind mount of a host path in the docker flags: one line naming the path', async () => {
    const result = await run(['new', 'bound', 'true'], { REALM_DOCKER_ARGS: `--mount type=bind,src=${shellQuote(tmp)},dst=/x` })
    assert.notEqual(result.code, 0)
    const lines = said(result).filter((line) => !/engine is remote|credential/.test(line))
    assert.equal(lines.length, 1, explain(result))
    assert.match(lines[0], new RegExp(`cannot see ${tmp}: it has a filesystem of its own — remove that mount from REALM_DOCKER_ARGS`))
    await assert.rejects(fs.access(sessionFile(home, 'bound', 'session.json')))
  })

  test('--network allowlist runs through the relay: a host it does not allow is blocked and reported', async () => {
    const result = await run(
      ['new', 'fenced', 'if curl -sf -m 5 -o /dev/null http://example.com/; then echo reached > reached.txt; fi', 'echo x > fenced.txt'],
      {
        REALM_NETWORK: 'allowlist',
      },
    )
    assert.equal(result.code, 0, explain(result))
    assert.ok(
      said(result).includes('realm: blocked 1 connection: example.com (not allowed) — allow with --allow example.com'),
      explain(result),
    )
    const patch = await fs.readFile(sessionFile(home, 'fenced', 'changes.patch'), 'utf8')
    assert.match(patch, /fenced\.txt/)
    assert.doesNotMatch(patch, /reached/)
    assert.deepEqual(await remoteContainers(), [])
  })

  test("--network host: refused in one line, as the engine's host is not this machine", async () => {
    const result = await run(['new', 'hostnet', 'true'], { REALM_NETWORK: 'host' })
    assert.notEqual(result.code, 0)
    const lines = said(result).filter((line) => !/engine is remote/.test(line))
    assert.equal(lines.length, 1, explain(result))
    assert.match(lines[0], /--network host cannot work on a remote Docker engine .* use --network allowlist, model or open/)
  })

  test('nothing of realm is left on the engine but the cache, and no overlay was ever misdiagnosed', async () => {
    assert.deepEqual(await remoteContainers(), [])
    const volumes = (await remoteDocker('volume', 'ls', '--format', '{{.Name}}')).split('\n').filter(Boolean)
    assert.ok(
      volumes.every((v) => v.startsWith('realm-cache-')),
      volumes.join(', '),
    )
    await assert.rejects(fs.access(path.join(home, 'overlay-unsupported')))
  })
})
