// How the workspace is made: the overlay shows the live tree and keeps host edits out of the patch; the
// copy is the fallback; nothing is left behind, even when a run is killed.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { before, describe, test } from 'node:test'

import { docker, dockerSkip, sessionContainer, waitInContainer } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { makeRepo, writeFiles } from '../helpers/repo.js'
import { explain, realm, settled, startRealm } from '../helpers/realm.js'

const skip = await dockerSkip()

/** Volumes whose mount options name a directory under `dir` (the overlay's layers live under REALM_HOME). */
async function volumesUnder(dir: string): Promise<string[]> {
  const names = (await docker('volume', 'ls', '-q')).split('\n').filter(Boolean)
  const found: string[] = []
  for (const name of names) {
    const options = await docker('volume', 'inspect', '--format', '{{json .Options}}', name).catch(() => '')
    if (options.includes(dir)) found.push(name)
  }
  return found
}

describe('workspace strategies', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  useProject({ 'a.txt': 'a\n', 'host.txt': 'host\n', '.gitignore': 'node_modules/\n' }, (f) => ({ tmp, project, home } = f))
  before(async () => writeFiles(project, { 'node_modules/dep/index.js': 'module.exports = 1\n' }))

  test('overlay: the agent sees ignored files; a host edit during the run stays out of the patch', async () => {
    const child = startRealm(
      [
        'new',
        'live',
        'test -f node_modules/dep/index.js',
        'echo agent > agent.txt',
        'touch /tmp/marker',
        'sleep 2',
        'cat host.txt > seen.txt',
      ],
      { cwd: project, home, env: { REALM_WORKSPACE: 'overlay' } },
    )
    const container = await sessionContainer('live')
    await waitInContainer(container, '/tmp/marker')
    await fs.writeFile(path.join(project, 'host.txt'), 'edited on the host\n')
    await fs.writeFile(path.join(project, 'host-new.txt'), 'created on the host\n')
    const result = await settled(child)
    await fs.writeFile(path.join(project, 'host.txt'), 'host\n')
    await fs.rm(path.join(project, 'host-new.txt'))
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stderr, /workspace: overlay \(ignored files present\)/)
    assert.match(result.stderr, /left out 2 files changed on the host during the run \(not by the agent\)/)
    const patch = await fs.readFile(path.join(home, 'sessions', 'live', 'changes.patch'), 'utf8')
    assert.match(patch, /^\+agent$/m)
    assert.match(patch, /^diff --git a\/seen.txt/m, 'what the agent wrote is kept, whatever it read')
    assert.doesNotMatch(patch, /^diff --git a\/host(-new)?\.txt/m)
  })

  test('copy: ignored files are left out unless --include-ignored', async () => {
    const env = { REALM_WORKSPACE: 'copy' }
    const without = await realm(['new', 'copy1', 'test ! -e node_modules'], { cwd: project, home, env })
    assert.equal(without.code, 0, explain(without))
    assert.match(without.stderr, /workspace: copy \(ignored files left out; --include-ignored copies them\)/)
    const withIgnored = await realm(['new', 'copy2', '--include-ignored', 'test -f node_modules/dep/index.js'], { cwd: project, home, env })
    assert.equal(withIgnored.code, 0, explain(withIgnored))
    assert.match(withIgnored.stderr, /workspace: copy \(ignored files copied\)/)
  })

  test('a project path an overlay cannot express falls back to the copy, and says so once', async () => {
    const odd = await makeRepo(path.join(tmp, 'odd,name'), { 'a.txt': 'a\n' })
    const result = await realm(['new', 'odd', 'echo x > x.txt'], { cwd: odd, home })
    assert.equal(result.code, 0, explain(result))
    assert.equal(result.stderr.match(/using a copy of the project/g)?.length, 1, explain(result))
    assert.match(result.stderr, /workspace: copy/)
  })

  test('a remembered overlay failure goes straight to the copy', async () => {
    const marked = path.join(tmp, 'home2')
    await fs.mkdir(marked, { recursive: true })
    await fs.writeFile(path.join(marked, 'overlay-unsupported'), 'the Docker engine could not mount an overlay volume\n')
    const result = await realm(['new', 'marked', 'true'], { cwd: project, home: marked })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stderr, /using a copy of the project \(the Docker engine could not mount an overlay volume\)/)
  })

  for (const workspace of ['overlay', 'copy']) {
    test(`a killed ${workspace} run leaves no container, volume or layer directory behind`, async () => {
      const name = `gone-${workspace}`
      const child = startRealm(['new', name, 'echo x > x.txt', 'touch /tmp/marker', 'sleep 300'], {
        cwd: project,
        home,
        env: { REALM_WORKSPACE: workspace },
      })
      const container = await sessionContainer(name)
      await waitInContainer(container, '/tmp/marker')
      await docker('kill', container)
      await settled(child)
      assert.deepEqual(await volumesUnder(home), [], 'no overlay volume of this run is left')
      assert.equal((await docker('ps', '-aq', '--filter', `name=^realm-${name}-`)).trim(), '')
      const left = await fs.readdir(path.join(home, 'sessions', name))
      assert.ok(!left.includes('run') && !left.includes('layers'), `left behind: ${left.join(' ')}`)
      assert.deepEqual(await fs.readdir(path.join(home, 'tmp')).catch(() => []), [])
    })
  }
})
