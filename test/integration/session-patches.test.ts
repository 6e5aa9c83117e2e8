// lib/session/patches.ts against real git: the runs of a session folded into one patch from its baseline.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import { test } from 'node:test'

import { parsePatch, type FilePatch } from '../../lib/patch/parse.ts'
import { combinedPatch, runPatches, sessionFiles } from '../../lib/session/patches.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { git, makeRepo, objectFiles, writeFiles } from '../helpers/repo.js'
import { scratchLeft, sessionFile, sessionTree } from '../helpers/session.js'
import { makeSession, workbench } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const LONG = 'a line that makes the file long enough for git to find it renamed\n'.repeat(4)

async function project() {
  return makeRepo(fresh('project'), {
    'a.txt': 'one\ntwo\nthree\n',
    'old name.txt': LONG,
    'gone.txt': 'to be deleted\n',
    'run.sh': { data: '#!/bin/sh\necho run\n', mode: 0o755 },
  })
}

/** What a patch says about each file, without its text. */
function shape(files: FilePatch[]) {
  return files.map(({ oldPath, path, kind, binary, oldMode, newMode }) => ({ oldPath, path, kind, binary, oldMode, newMode }))
}

test("base.patch + changes.patch fold into one patch from the baseline, which reproduces the session's tree", async () => {
  const root = await project()
  // The user's uncommitted edit is the session's baseline: it is not part of the session's patch.
  await writeFiles(root, { 'a.txt': 'one\ntwo\nthree\nuser edit\n' })
  const bench = await workbench(root, fresh('bench'))
  await bench.change({ 'a.txt': 'one\ntwo\nthree\nuser edit\n' })
  const baseline = await bench.capture()
  await bench.change({ 'new name ü.txt': { from: 'old name.txt' }, 'bin.dat': Buffer.from([0, 1, 2, 255]), 'run.sh': { mode: 0o644 } })
  const base = await bench.capture()
  await bench.change({ 'new name ü.txt': `${LONG}one more line\n`, 'gone.txt': null, 'a.txt': 'ONE\ntwo\nthree\nuser edit\n' })
  const changes = await bench.capture()
  const session = await makeSession('fold', root, { 'baseline.patch': baseline, 'base.patch': base, 'changes.patch': changes })
  const objectsBefore = await objectFiles(root)

  const combined = await combinedPatch(session)
  assert.doesNotMatch(combined, /^\+user edit$/m, "the user's own edit belongs to the baseline")
  assert.deepEqual(shape(parsePatch(combined)), [
    { oldPath: 'a.txt', path: 'a.txt', kind: 'modified', binary: false, oldMode: undefined, newMode: undefined },
    { oldPath: 'bin.dat', path: 'bin.dat', kind: 'added', binary: true, oldMode: undefined, newMode: '100644' },
    { oldPath: 'gone.txt', path: 'gone.txt', kind: 'deleted', binary: false, oldMode: '100644', newMode: undefined },
    { oldPath: 'old name.txt', path: 'new name ü.txt', kind: 'renamed', binary: false, oldMode: undefined, newMode: undefined },
    { oldPath: 'run.sh', path: 'run.sh', kind: 'modified', binary: false, oldMode: '100755', newMode: '100644' },
  ])

  // Applied on the baseline, the one patch makes exactly the tree the runs made, byte for byte.
  await makeSession('folded', root, { 'baseline.patch': baseline, 'changes.patch': combined })
  assert.deepEqual(await sessionTree(home, 'folded', root), await bench.tree())
  assert.deepEqual(await sessionTree(home, 'fold', root), await bench.tree())

  assert.deepEqual(await objectFiles(root), objectsBefore, 'folding writes nothing into the repository')
  assert.deepEqual(await scratchLeft(home), [])
})

test('runPatches: base.patch then changes.patch, never the baseline, and no empty file', async () => {
  const root = await project()
  const bench = await workbench(root, fresh('bench'))
  await writeFiles(root, { 'untracked.txt': 'mine\n' })
  await bench.change({ 'untracked.txt': 'mine\n' })
  const baseline = await bench.capture()
  await bench.change({ 'x.txt': 'x\n' })
  const base = await bench.capture()
  await bench.change({ 'y.txt': 'y\n' })
  const changes = await bench.capture()

  const both = await makeSession('both', root, { 'baseline.patch': baseline, 'base.patch': base, 'changes.patch': changes })
  assert.deepEqual(await runPatches(both), [sessionFile(home, 'both', 'base.patch'), sessionFile(home, 'both', 'changes.patch')])

  // An empty base.patch (the original realm layout writes one after a run that changed nothing) is no run.
  const one = await makeSession('one', root, { 'baseline.patch': baseline, 'changes.patch': changes })
  await fs.writeFile(sessionFile(home, 'one', 'base.patch'), '')
  assert.deepEqual(await runPatches(one), [sessionFile(home, 'one', 'changes.patch')])
  assert.equal(await combinedPatch(one), changes, "a single run's patch is the session's patch as stored")
  const files = await sessionFiles(one)
  assert.deepEqual(
    files.session.map((f) => f.path),
    ['y.txt'],
  )
  assert.deepEqual(files.run, files.session)

  const none = await makeSession('none', root, { 'baseline.patch': baseline })
  assert.deepEqual(await runPatches(none), [])
  assert.equal(await combinedPatch(none), '')
  assert.deepEqual(await sessionFiles(none), { run: [], session: [] })
})

test('a run that undoes an earlier one cancels out: the session changes nothing, the last run still shows', async () => {
  const root = await project()
  const bench = await workbench(root, fresh('bench'))
  await bench.change({ 'a.txt': 'changed\n', 'x.bin': Buffer.from([0, 255]), 'run.sh': { mode: 0o644 }, 'gone.txt': null })
  const base = await bench.capture()
  await bench.change({ 'a.txt': 'one\ntwo\nthree\n', 'x.bin': null, 'run.sh': { mode: 0o755 }, 'gone.txt': 'to be deleted\n' })
  const changes = await bench.capture()
  assert.equal(await git(bench.dir, 'status', '--porcelain'), '', 'the workbench is back where it started')

  const session = await makeSession('undo', root, { 'base.patch': base, 'changes.patch': changes })
  assert.equal(await combinedPatch(session), '')
  const files = await sessionFiles(session)
  assert.deepEqual(files.session, [])
  assert.deepEqual(
    files.run.map((f) => `${f.kind} ${f.path}`),
    ['modified a.txt', 'added gone.txt', 'modified run.sh', 'deleted x.bin'],
  )
})
