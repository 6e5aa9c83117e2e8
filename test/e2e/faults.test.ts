// No work lost: a killed container, an interrupted or killed realm, a stopped container, a full disk,
// concurrent commands, damaged session files — each leaves the agent's work and the earlier patches intact.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'

import { execa } from 'execa'

import { docker, dockerSkip, sessionContainer, waitInContainer } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { makeRepo } from '../helpers/repo.js'
import { explain, realm, settled, startRealm, tempDir } from '../helpers/realm.js'

const skip = await dockerSkip()

/** A session file the test expects to exist. */
async function readSaved(file: string): Promise<string> {
  const text = await read(file)
  assert.ok(text !== undefined, `${file} exists`)
  return text
}

async function read(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch(() => undefined)
}

describe('no work lost', { skip }, () => {
  let project: string
  let home: string
  useProject({ 'a.txt': 'a\n' }, (f) => ({ project, home } = f))
  const sessionFile = (name: string, file: string) => path.join(home, 'sessions', name, file)

  /** A session with one saved run, so the tests can check that earlier patches survive. */
  async function sessionWithHistory(name: string): Promise<{ base: string | undefined; changes: string }> {
    const first = await realm(['new', name, 'echo earlier > earlier.txt'], { cwd: project, home })
    assert.equal(first.code, 0, explain(first))
    return { base: await read(sessionFile(name, 'base.patch')), changes: await readSaved(sessionFile(name, 'changes.patch')) }
  }

  test('docker kill: realm saves the last snapshot before it exits', async () => {
    const child = startRealm(['new', 'killed', 'echo work > work.txt', 'touch /tmp/marker', 'sleep 300'], { cwd: project, home })
    const container = await sessionContainer('killed')
    await waitInContainer(container, '/tmp/marker')
    await new Promise((resolve) => setTimeout(resolve, 5_000)) // the snapshot interval is 3 s
    await docker('kill', container)
    const result = await settled(child)
    assert.notEqual(result.code, 0, explain(result))
    assert.match(result.stderr, /did not finish; its last snapshot was saved/)
    assert.match(await readSaved(sessionFile('killed', 'changes.patch')), /\+work/)
  })

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    test(`${signal} to realm stops the agent gracefully and saves its final state`, async () => {
      const name = `sig-${signal.toLowerCase()}`
      const history = await sessionWithHistory(name)
      const child = startRealm(['resume', name, 'echo late > late.txt', 'touch /tmp/marker', 'sleep 300'], { cwd: project, home })
      const container = await sessionContainer(name)
      await waitInContainer(container, '/tmp/marker')
      child.kill(signal)
      const result = await settled(child)
      assert.match(result.stderr, /stopping the agent and saving its work/, explain(result))
      assert.doesNotMatch(result.stderr, /last snapshot/, 'a graceful stop makes a final capture')
      assert.match(await readSaved(sessionFile(name, 'changes.patch')), /\+late/)
      assert.equal(await read(sessionFile(name, 'base.patch')), history.changes, 'earlier work moved into base.patch intact')
      assert.equal((await docker('ps', '-aq', '--filter', `name=^realm-${name}-`)).trim(), '', 'no container left')
    })

  test('SIGKILL to realm: the container finishes, and the next command saves its capture', async () => {
    const child = startRealm(['new', 'nine', 'touch /tmp/marker', 'sleep 2', 'echo finished > finished.txt'], { cwd: project, home })
    const container = await sessionContainer('nine')
    await waitInContainer(container, '/tmp/marker')
    child.kill('SIGKILL')
    await child.catch(() => undefined)
    await execa('docker', ['wait', container], { reject: false })
    const next = await realm(['resume', 'nine', 'test -f finished.txt'], { cwd: project, home })
    assert.equal(next.code, 0, explain(next))
    assert.match(next.stderr, /recovered the interrupted run of 'nine' \(its final capture\)/)
    assert.match(await readSaved(sessionFile('nine', 'base.patch')), /\+finished/)
    // The session's history marks the run that a later command saved, and keeps the one after it apart.
    const log = await realm(['log', 'nine'], { cwd: project, home })
    const lines = log.stdout.trimEnd().split('\n')
    assert.match(lines[1], /^1 .*\[interrupted, recovered from its final capture\] touch \/tmp\/marker sleep 2 echo finished/, explain(log))
    assert.match(lines[2], /^2 .*\s0\s+no changes\s+test -f finished\.txt$/, explain(log))
  })

  test('docker stop: the entrypoint captures before exiting', async () => {
    const child = startRealm(['new', 'stopped', 'echo stopped > s.txt', 'touch /tmp/marker', 'sleep 300'], { cwd: project, home })
    const container = await sessionContainer('stopped')
    await waitInContainer(container, '/tmp/marker')
    await docker('stop', container)
    const result = await settled(child)
    assert.doesNotMatch(result.stderr, /last snapshot/, explain(result))
    assert.match(await readSaved(sessionFile('stopped', 'changes.patch')), /\+stopped/)
  })

  test('a second command on a session in use is refused, naming the holder; other sessions run side by side', async () => {
    await sessionWithHistory('busy')
    const child = startRealm(['resume', 'busy', 'touch /tmp/marker', 'sleep 4'], { cwd: project, home })
    const container = await sessionContainer('busy')
    await waitInContainer(container, '/tmp/marker')
    for (const args of [
      ['resume', 'busy', 'true'],
      ['remove', 'busy', '--yes'],
      ['push', 'busy'],
      ['apply', 'busy'],
    ]) {
      const refused = await realm(args, { cwd: project, home })
      assert.equal(refused.code, 1, explain(refused))
      assert.match(
        refused.stderr,
        new RegExp(`^realm: session 'busy' is in use by 'realm resume' \\(pid ${child.pid}`, 'm'),
        args.join(' '),
      )
    }
    const other = await realm(['new', 'beside', 'echo x > beside.txt'], { cwd: project, home })
    assert.equal(other.code, 0, explain(other))
    assert.equal((await settled(child)).code, 0)
  })

  test('a truncated patch gives a clear error naming the file, and nothing changes', async () => {
    await sessionWithHistory('trunc')
    await realm(['resume', 'trunc', 'echo more >> earlier.txt'], { cwd: project, home })
    const file = sessionFile('trunc', 'base.patch')
    const text = await readSaved(file)
    await fs.writeFile(file, text.slice(0, Math.floor(text.length / 2)))
    const damaged = await read(file)
    const before = await read(sessionFile('trunc', 'changes.patch'))
    const result = await realm(['resume', 'trunc', 'true'], { cwd: project, home })
    assert.notEqual(result.code, 0)
    assert.equal(result.stderr.trim().split('\n').length, 1, explain(result))
    assert.ok(result.stderr.includes(file), explain(result))
    assert.doesNotMatch(result.stderr, /\n\s+at /)
    assert.equal(await read(file), damaged)
    assert.equal(await read(sessionFile('trunc', 'changes.patch')), before)
  })

  test('a hand-edited session.json is named in a one-line error', async () => {
    await sessionWithHistory('edited')
    await fs.writeFile(sessionFile('edited', 'session.json'), '{"version": 1, "base')
    const result = await realm(['resume', 'edited', 'true'], { cwd: project, home })
    assert.equal(result.code, 1)
    assert.equal(
      result.stderr.trim(),
      `realm: session file ${sessionFile('edited', 'session.json')} is not valid JSON — it was truncated or edited by hand`,
    )
  })

  test('the key never reaches the container (a placeholder does) nor any process list', async () => {
    const secret = `sk-test-${process.pid}-secret`
    const child = startRealm(['new', 'secret', 'echo "$ANTHROPIC_API_KEY" > key.txt', 'touch /tmp/marker', 'sleep 2'], {
      cwd: project,
      home,
      env: { ANTHROPIC_API_KEY: secret },
    })
    const container = await sessionContainer('secret')
    await waitInContainer(container, '/tmp/marker')
    const ps = await execa('ps', ['-eo', 'args'])
    assert.ok(!ps.stdout.includes(secret), 'the key must not appear in any command line')
    assert.equal((await settled(child)).code, 0)
    const patch = (await read(sessionFile('secret', 'changes.patch'))) ?? ''
    assert.ok(patch.includes('+sk-ant-api03-realm-placeholder'), 'the agent sees the placeholder')
    assert.ok(!patch.includes(secret), 'the real key stays on the host')
  })
})

describe('full disk', { skip }, () => {
  test('when the session directory fills up, realm says so and the earlier patches are intact', async (t) => {
    const tmp = await tempDir()
    const home = path.join(tmp.path, 'home')
    await fs.mkdir(home)
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', home], { reject: false })
    if (mounted.exitCode !== 0) {
      if (process.env.CI) throw new Error(`cannot mount a tmpfs (CI runs as root): ${mounted.stderr}`)
      await tmp.cleanup()
      t.skip('needs root to mount a small tmpfs')
      return
    }
    t.after(async () => {
      await execa('umount', ['-l', home], { reject: false })
      await tmp.cleanup()
    })
    const project = await makeRepo(path.join(tmp.path, 'project'), { 'a.txt': 'a\n' })
    const env = { REALM_WORKSPACE: 'copy', HOME: tmp.path }
    const first = await realm(['new', 'full', 'echo small > small.txt'], { cwd: project, home, env })
    assert.equal(first.code, 0, explain(first))
    const changes = await read(path.join(home, 'sessions', 'full', 'changes.patch'))
    // 1 MiB of incompressible data cannot fit in a 256 KiB tmpfs, whatever the patch encoding.
    const big = await realm(['resume', 'full', 'head -c 1048576 /dev/urandom > big.bin'], { cwd: project, home, env })
    assert.notEqual(big.stderr, '', explain(big))
    assert.match(big.stderr, /could not be captured|no space left/, explain(big))
    assert.doesNotMatch(big.stderr, /\n\s+at /)
    const dir = path.join(home, 'sessions', 'full')
    const earlier = [await read(path.join(dir, 'base.patch')), await read(path.join(dir, 'changes.patch'))].join('')
    assert.ok(earlier.includes('+small'), 'the earlier run is still in the session')
    assert.ok(changes)
  })
})
