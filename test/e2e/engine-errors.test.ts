// The engine's failures before a run, with the real bin/realm: an engine CLI that is not installed (a PATH that
// holds every program of this machine but docker and podman) and an engine that does not answer. Each is one
// line on stderr that says what to do, a non-zero exit, and no session left behind.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { before, describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, realm } from '../helpers/realm.js'
import { sessionFile } from '../helpers/session.js'

const skip = await dockerSkip()

describe('engine errors', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  let bin: string
  useProject({ 'a.txt': 'a\n' }, (f) => ({ tmp, project, home } = f))
  before(async () => {
    // Every program on this PATH, as links in one directory, but the engines' CLIs.
    bin = path.join(tmp, 'bin')
    await fs.mkdir(bin)
    for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).reverse()) {
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        if (/^(docker|podman)(-|$)/.test(name)) continue
        await fs.rm(path.join(bin, name), { force: true })
        await fs.symlink(path.join(dir, name), path.join(bin, name))
      }
    }
  })

  async function refused(name: string, env: Record<string, string>, expected: RegExp) {
    const result = await realm(['new', name, 'true'], { cwd: project, home, env })
    assert.notEqual(result.code, 0, explain(result))
    const lines = result.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `one line\n${explain(result)}`)
    assert.match(lines[0], expected, explain(result))
    await assert.rejects(fs.access(sessionFile(home, name, 'session.json')), 'no session is left')
  }

  test('neither docker nor podman installed', async () => {
    await refused('none', { PATH: bin }, /^realm: neither docker nor podman is installed — install Docker Engine/)
  })

  test('REALM_ENGINE=podman without podman', async () => {
    await refused(
      'nopodman',
      { PATH: bin, REALM_ENGINE: 'podman' },
      /^realm: podman is not installed \(REALM_ENGINE=podman\) — install Podman/,
    )
  })

  test('DOCKER_HOST pointing nowhere', async () => {
    await refused('nowhere', { DOCKER_HOST: 'tcp://127.0.0.1:1' }, /^realm: cannot reach the Docker .*check DOCKER_HOST/)
  })
})
