// What the agent writes under ignored directories (an npm install's node_modules/): the capture does not walk
// them (docker/lib/capture.sh, upper_changes), yet a tracked file there that the agent changes or deletes is in
// the patch, and the ignored files are not. Snapshots run every second here, so the final capture starts from
// what they learnt of the ignored directories, and a .gitignore changed mid-run must undo that.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { before, describe, test } from 'node:test'

import { dockerSkip, sessionContainer, waitInContainer } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { git, writeFiles } from '../helpers/repo.js'
import { explain, realm, settled, startRealm } from '../helpers/realm.js'

const skip = await dockerSkip()

/** Every snapshot the entrypoint takes meets the state the script left: several per `sleep 3`. */
const SNAPSHOTS_EVERY_SECOND = '-e REALM_SNAPSHOT_SECONDS=1'

/** A shell command writing 1,000 files under `dir` (10 directories of 100). */
function thousandFiles(dir: string): string {
  return `for i in 0 1 2 3 4 5 6 7 8 9; do mkdir -p ${dir}/pkg$i; j=0; while [ $j -lt 100 ]; do echo "$i.$j" > ${dir}/pkg$i/f$j.js; j=$((j+1)); done; done`
}

/** The paths a patch touches, either side. */
function patchPaths(patch: string): string[] {
  return [...patch.matchAll(/^diff --git a\/(.*) b\/(.*)$/gm)].flatMap((m) => [m[1], m[2]])
}

describe('work under ignored directories', { skip }, () => {
  let project: string
  let home: string
  // Tracked files inside node_modules/: committed before node_modules/ was ignored, as a vendored patch would be.
  useProject(
    { 'a.txt': 'a\n', 'host.txt': 'host\n', 'node_modules/patched/index.js': 'orig\n', 'node_modules/gone/x.js': 'x\n' },
    (f) => ({ project, home } = f),
  )
  before(async () => {
    await writeFiles(project, { '.gitignore': 'node_modules/\nbuild/\n', 'node_modules/dep/index.js': 'module.exports = 1\n' })
    await git(project, 'add', '.gitignore')
    await git(project, 'commit', '-q', '-m', 'ignore node_modules')
  })

  for (const workspace of ['overlay', 'copy'] as const) {
    test(`${workspace}: a tracked file inside an ignored directory is captured, 1,000 ignored files are not`, async () => {
      const name = `ign-${workspace}`
      const child = startRealm(
        [
          'new',
          name,
          thousandFiles('node_modules'),
          'sleep 3',
          'echo agent > node_modules/patched/index.js',
          'rm node_modules/gone/x.js',
          'echo new > node_modules/new.js && mkdir -p src && echo new > src/new.js',
          'touch /tmp/marker',
          'sleep 3',
        ],
        { cwd: project, home, env: { REALM_WORKSPACE: workspace, REALM_DOCKER_ARGS: SNAPSHOTS_EVERY_SECOND } },
      )
      // On the host meanwhile: the tracked file the agent also wrote, and one it did not.
      await waitInContainer(await sessionContainer(name), '/tmp/marker')
      await fs.writeFile(path.join(project, 'node_modules/patched/index.js'), 'edited on the host\n')
      await fs.writeFile(path.join(project, 'host.txt'), 'edited on the host\n')
      const result = await settled(child)
      await fs.writeFile(path.join(project, 'node_modules/patched/index.js'), 'orig\n')
      await fs.writeFile(path.join(project, 'host.txt'), 'host\n')
      assert.equal(result.code, 0, explain(result))

      const patch = await fs.readFile(path.join(home, 'sessions', name, 'changes.patch'), 'utf8')
      assert.deepEqual([...new Set(patchPaths(patch))].sort(), ['node_modules/gone/x.js', 'node_modules/patched/index.js', 'src/new.js'])
      assert.match(patch, /^-orig\n\+agent$/m)
      assert.match(patch, /^deleted file mode 100644$/m)
      if (workspace === 'overlay') {
        // The note names what the host changed alone: the agent wrote node_modules/patched/index.js too.
        assert.match(result.stderr, /left out 1 file changed on the host during the run \(not by the agent\): host\.txt$/m)
      }
    })
  }

  // The agent exits right after the change, so the final capture starts from the snapshots' stale view.
  test('overlay: a directory the agent stops ignoring mid-run is captured', async () => {
    const result = await realm(
      [
        'new',
        'unignore',
        'mkdir -p build/out && echo 1 > build/out/1.txt && echo 2 > build/2.txt',
        'sleep 3',
        'printf "node_modules/\\n" > .gitignore',
      ],
      { cwd: project, home, env: { REALM_WORKSPACE: 'overlay', REALM_DOCKER_ARGS: SNAPSHOTS_EVERY_SECOND } },
    )
    assert.equal(result.code, 0, explain(result))
    const patch = await fs.readFile(path.join(home, 'sessions', 'unignore', 'changes.patch'), 'utf8')
    assert.deepEqual([...new Set(patchPaths(patch))].sort(), ['.gitignore', 'build/2.txt', 'build/out/1.txt'])
  })
})
