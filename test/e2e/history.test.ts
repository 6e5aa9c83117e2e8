// A session's history against a real engine: runs made by `new` and `resume` (the stand-in agent runs its
// arguments as shell lines, so each resume is a distinct run), then log, diff --run, undo, --restore and fork
// through the real bin, and two forks run side by side.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, realm } from '../helpers/realm.js'
import { sessionTree } from '../helpers/session.js'

const skip = await dockerSkip()

describe('session history', { skip }, () => {
  let project: string
  let home: string
  useProject({ 'a.txt': 'one\n' }, (f) => ({ project, home } = f))

  const ok = async (args: string[]) => {
    const result = await realm(args, { cwd: project, home })
    assert.equal(result.code, 0, explain(result))
    return result
  }
  const files = async (name: string) =>
    Object.keys(await sessionTree(home, name, project))
      .filter((f) => f.endsWith('.txt'))
      .sort()

  test('each run is recorded with what it was asked; undo, restore and fork work on runs made by a real engine', async () => {
    await ok(['new', 'hist', 'echo 1 > first.txt'])
    await ok(['resume', 'hist', 'echo 2 > second.txt'])
    // A run that fails is kept too, with its exit code.
    const third = await realm(['resume', 'hist', 'echo 3 > third.txt', 'exit 4'], { cwd: project, home })
    assert.equal(third.code, 4, explain(third))

    const log = await ok(['log', 'hist'])
    const lines = log.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 4, log.stdout)
    assert.match(lines[1], /^1\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d+s\s+0\s+\+1 -0 in 1 file\s+echo 1 > first\.txt$/)
    assert.match(lines[3], /^3\s+.*\s4\s+\+1 -0 in 1 file\s+echo 3 > third\.txt exit 4$/)
    const json = JSON.parse((await ok(['log', 'hist', '--json'])).stdout) as Array<Record<string, unknown>>
    assert.deepEqual(json[2].args, ['echo 3 > third.txt', 'exit 4'])
    assert.equal(json[2].image, 'realm-test:latest')
    assert.ok(['overlay', 'copy'].includes(String(json[2].workspace)))
    assert.equal(json[2].network, 'allowlist')

    assert.match((await ok(['diff', 'hist', '--run', '2', '--stat'])).stdout, /^Run 2: 1 file changed, \+1 -0\n {2}A second\.txt/)

    await ok(['undo', 'hist', '2'])
    assert.deepEqual(await files('hist'), ['a.txt', 'first.txt', 'third.txt'])
    await ok(['undo', 'hist', '--restore', '2'])
    assert.deepEqual(await files('hist'), ['a.txt', 'first.txt', 'second.txt', 'third.txt'])

    // Two directions from run 1, side by side: each fork resumes from there with its own history.
    await ok(['fork', 'hist', 'left', '--at', '1'])
    await ok(['fork', 'hist', 'right', '--at', '1'])
    const [left, right] = await Promise.all([
      realm(['resume', 'left', 'echo left > left.txt'], { cwd: project, home }),
      realm(['resume', 'right', 'echo right > right.txt'], { cwd: project, home }),
    ])
    assert.equal(left.code, 0, explain(left))
    assert.equal(right.code, 0, explain(right))
    assert.deepEqual(await files('left'), ['a.txt', 'first.txt', 'left.txt'])
    assert.deepEqual(await files('right'), ['a.txt', 'first.txt', 'right.txt'])
    const leftLog = (await ok(['log', 'left'])).stdout.trimEnd().split('\n')
    assert.deepEqual(
      leftLog.slice(1).map((l) => l.split(/\s+/)[0]),
      ['1', '2'],
      "the fork's history: the source's run 1, then its own",
    )
    assert.deepEqual(await files('hist'), ['a.txt', 'first.txt', 'second.txt', 'third.txt'], 'the source is untouched')
  })
})
