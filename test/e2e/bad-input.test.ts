// Every user error: one line on stderr saying what to do, a non-zero exit, no stack, nothing created.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { makeRepo } from '../helpers/repo.js'
import { explain, realm, type RealmResult } from '../helpers/realm.js'

const skip = await dockerSkip()

function assertUserError(result: RealmResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, explain(result))
  const lines = result.stderr.trim().split('\n')
  assert.equal(lines.length, 1, explain(result))
  assert.match(lines[0], /^realm: /)
  assert.match(lines[0], pattern, explain(result))
  assert.doesNotMatch(result.stderr, /\bat .*\.(js|ts):\d+/, 'no stack trace')
}

describe('bad input', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  useProject(undefined, (f) => ({ tmp, project, home } = f))
  const sessions = async () => fs.readdir(path.join(home, 'sessions')).catch(() => [] as string[])

  for (const name of ['../x', 'a b', '-x', 'main.lock', 'x'.repeat(65)]) {
    test(`invalid name ${JSON.stringify(name)}`, async () => {
      assertUserError(
        await realm(
          ['new', '--', name].filter((w) => w !== '--' || name.startsWith('-')),
          { cwd: project, home },
        ),
        /invalid session name|name/,
      )
      assert.deepEqual(await sessions(), [])
    })
  }

  test('duplicate new keeps the first session intact', async () => {
    assert.equal((await realm(['new', 'dup', 'echo 1 > one.txt'], { cwd: project, home })).code, 0)
    const before = await fs.readFile(path.join(home, 'sessions', 'dup', 'changes.patch'), 'utf8')
    assertUserError(
      await realm(['new', 'dup', 'echo 2 > two.txt'], { cwd: project, home }),
      /already exists — resume it with 'realm resume dup'/,
    )
    assert.equal(await fs.readFile(path.join(home, 'sessions', 'dup', 'changes.patch'), 'utf8'), before)
  })

  test('asking for help starts nothing: no network, no image build', async () => {
    // realm's own sidecar image does not exist here: a run would have to build it, and would say so.
    const before = await sessions()
    for (const args of [
      ['new', '--help'],
      ['resume', 'x', '-h'],
    ]) {
      const result = await realm(args, { cwd: project, home, env: { REALM_NET_IMAGE: undefined } })
      assert.equal(result.code, 0, explain(result))
      assert.match(result.stdout, /Usage:/)
      assert.equal(result.stderr, '', explain(result))
    }
    assert.deepEqual(await sessions(), before, 'no session made')
  })

  test('unknown session', async () => {
    for (const command of ['resume', 'diff', 'apply', 'push', 'remove']) {
      assertUserError(await realm([command, 'nope'], { cwd: project, home }), /session 'nope' not found — run 'realm list'/)
    }
  })

  test('project directory gone', async () => {
    const doomed = await makeRepo(path.join(tmp, 'doomed'))
    assert.equal((await realm(['new', 'orphan', 'true'], { cwd: doomed, home })).code, 0)
    await fs.rm(doomed, { recursive: true })
    assertUserError(await realm(['resume', 'orphan'], { cwd: project, home }), /project directory .* no longer exists/)
  })

  test('not a git repository', async () => {
    const plain = path.join(tmp, 'plain')
    await fs.mkdir(plain)
    assertUserError(await realm(['new', 'plain'], { cwd: plain, home }), /not inside a git repository/)
    assertUserError(await realm(['new', 'plain2', '--project', path.join(tmp, 'missing')], { cwd: project, home }), /does not exist/)
    assert.ok(!(await sessions()).some((s) => s.startsWith('plain')))
  })

  test('neither docker nor podman installed', async () => {
    // A PATH with node, git and find (which looks for the secret files to hide) but no docker.
    const bin = path.join(tmp, 'bin')
    await fs.mkdir(bin, { recursive: true })
    await fs.symlink(process.execPath, path.join(bin, 'node')).catch(() => undefined)
    await fs.symlink('/usr/bin/git', path.join(bin, 'git')).catch(() => undefined)
    await fs.symlink('/usr/bin/find', path.join(bin, 'find')).catch(() => undefined)
    assertUserError(
      await realm(['new', 'nodocker', 'true'], { cwd: project, home, env: { PATH: bin } }),
      /neither docker nor podman is installed/,
    )
    assert.ok(!(await sessions()).includes('nodocker'))
  })

  test('daemon unreachable', async () => {
    assertUserError(
      await realm(['new', 'nodaemon', 'true'], { cwd: project, home, env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } }),
      /cannot reach the Docker daemon/,
    )
    assert.ok(!(await sessions()).includes('nodaemon'))
  })

  test('image missing', async () => {
    assertUserError(
      await realm(['new', 'noimage', '--image', 'realm-no-such-image:1', 'true'], { cwd: project, home }),
      /image 'realm-no-such-image:1' not found/,
    )
    assert.ok(!(await sessions()).includes('noimage'))
  })

  test('bad REALM_DOCKER_ARGS and a container docker cannot start', async () => {
    assertUserError(
      await realm(['new', 'quote', 'true'], { cwd: project, home, env: { REALM_DOCKER_ARGS: '--label "open' } }),
      /REALM_DOCKER_ARGS: unterminated/,
    )
    const bad = await realm(['new', 'badflag', 'true'], { cwd: project, home, env: { REALM_DOCKER_ARGS: '--memory=nonsense' } })
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /realm: docker could not start the container/)
    assert.ok(!(await sessions()).some((s) => s === 'quote' || s === 'badflag'))
  })
})

describe('terminals', { skip }, () => {
  let project: string
  let home: string
  useProject(undefined, (f) => ({ project, home } = f))

  test('with a terminal the agent gets one (-t)', async () => {
    const result = await realm(['new', 'tty', 'test -t 0 && test -t 1 && echo AGENT-HAS-TTY', 'echo x > x.txt'], {
      cwd: project,
      home,
      tty: true,
    })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stdout, /AGENT-HAS-TTY/)
    assert.ok(await fs.stat(path.join(home, 'sessions', 'tty', 'changes.patch')))
  })

  test('without one (a script, a pipe, CI) realm works the same, without -t', async () => {
    const result = await realm(['new', 'notty', 'test -t 0 || echo NO-TTY', 'echo x > x.txt'], { cwd: project, home })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stdout, /NO-TTY/)
    assert.ok(await fs.stat(path.join(home, 'sessions', 'notty', 'changes.patch')))
  })
})
