// Only lock holders write: `diff` and `list` run in a tight loop while `resume` saves, and every one of them sees
// the session before or after the save, never half of it; the saved session is complete and verified every time.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import { describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { fileEntry } from '../helpers/repo.js'
import { explain, realm, type RealmResult, startRealm } from '../helpers/realm.js'
import { sessionFile, sessionTree } from '../helpers/session.js'

const skip = await dockerSkip()

const FILES = 150
const ROUNDS = 4

describe('lock race', { skip }, () => {
  let project: string
  let home: string
  useProject({ 'a.txt': 'a\n' }, (f) => ({ project, home } = f))

  test('diff and list in a tight loop while resume saves', async () => {
    const name = 'i13-race'
    const first = await realm(['new', name, `for i in $(seq 1 ${FILES}); do echo 0 > f-$i.txt; done`], { cwd: project, home })
    assert.equal(first.code, 0, explain(first))
    for (let round = 1; round <= ROUNDS; round++) {
      const child = startRealm(
        ['resume', name, `for i in $(seq 1 ${FILES}); do echo ${round} > f-$i.txt; done; echo ${round} > round-${round}.txt`],
        {
          cwd: project,
          home,
        },
      )
      let done = false
      void child.finally(() => {
        done = true
      })
      const diffs: RealmResult[] = []
      const lists: RealmResult[] = []
      // Two readers at a time, until the resume has saved and a few reads more.
      let after = 0
      while (!done || after++ < 2) {
        const [diff, list] = await Promise.all([
          realm(['diff', '--stat', name], { cwd: project, home }),
          realm(['list', '--json'], { cwd: project, home }),
        ])
        diffs.push(diff)
        lists.push(list)
      }
      const resumed = await child
      assert.equal(resumed.exitCode, 0, `${resumed.stdout}\n${resumed.stderr}`)

      // Before the save the session has FILES + round - 1 files; after it, FILES + round. Nothing else.
      const allowed = [FILES + round - 1, FILES + round]
      for (const diff of diffs) {
        assert.equal(diff.code, 0, explain(diff))
        const count = Number(/Session: (\d+) files changed/.exec(diff.stdout)?.[1])
        assert.ok(allowed.includes(count), `diff saw ${count} files, not one of ${allowed}: ${explain(diff)}`)
      }
      for (const list of lists) {
        assert.equal(list.code, 0, explain(list))
        const listed = (JSON.parse(list.stdout) as Array<{ name: string; patchBytes: number }>).find((s) => s.name === name)
        assert.ok(listed && listed.patchBytes > 0, explain(list))
      }
      assert.ok(
        diffs.some((d) => d.stdout.includes(`Session: ${FILES + round} files changed`)),
        'the readers saw the save (reads went on after it)',
      )

      // The saved session is whole: its checksums hold (apply --check verifies them and the patches) and git
      // alone rebuilds the tree the agent left.
      const check = await realm(['apply', '--check', name], { cwd: project, home })
      assert.equal(check.code, 0, explain(check))
      const tree = await sessionTree(home, name, project)
      assert.equal(tree['f-1.txt'], fileEntry(`${round}\n`))
      assert.equal(tree[`round-${round}.txt`], fileEntry(`${round}\n`))
      assert.equal(Object.keys(tree).filter((f) => f.startsWith('round-')).length, round)
      assert.equal(await fs.stat(sessionFile(home, name, '.txn')).catch(() => undefined), undefined, 'no transaction left over')
    }
  })
})
