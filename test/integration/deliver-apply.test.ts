// `realm apply` (lib/deliver/apply.ts) against real repositories: the session's change onto the user's working
// tree, plainly when it fits and 3-way when the user moved on, never over edits a merge could not protect.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

import { applySession } from '../../lib/deliver/apply.ts'
import { combinedPatch } from '../../lib/session/patches.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { type FileChange, fileEntry, git, makeRepo, objectFiles, repoState, treeSnapshot, writeFiles } from '../helpers/repo.js'
import { scratchLeft } from '../helpers/session.js'
import { agentSession, makeSession } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const LINES = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n'
const LONG = 'a line that makes the file long enough for git to find it renamed\n'.repeat(4)

async function project() {
  return makeRepo(fresh('project'), {
    'a.txt': LINES,
    'old name.txt': LONG,
    'gone.txt': 'to be deleted\n',
    'run.sh': { data: '#!/bin/sh\necho run\n', mode: 0o755 },
    'image.bin': Buffer.from([0, 1, 2, 3, 255, 0]),
    'sub/keep.txt': 'keep\n',
  })
}

const EVERY_KIND: Array<Record<string, FileChange>> = [
  {
    'image.bin': Buffer.from([255, 254, 0, 0, 7]),
    'gone.txt': null,
    'new name ü.txt': { from: 'old name.txt' },
    'run.sh': { mode: 0o644 },
    'a.txt': { mode: 0o755, data: LINES.replace('two', 'AGENT') },
  },
  {
    link: { link: 'sub/keep.txt' },
    'with space/file name.txt': 'spaced\n',
    'ünïcödé dir/naïve.bin': Buffer.from([0, 0xc3, 0xbc, 0]),
    'new name ü.txt': `${LONG}and one more\n`,
  },
]

test('clean apply onto an untouched working tree: the files become the agent’s, the index and HEAD stay', async () => {
  const root = await project()
  const { session: s, agentTree } = await agentSession('clean', root, fresh('bench'), [
    { 'a.txt': LINES.replace('two', 'AGENT'), 'new.txt': 'new\n' },
  ])
  const before = await repoState(root)

  const result = await applySession(s)
  assert.equal(result.status, 'applied')
  assert.equal(result.status === 'applied' && result.method, 'clean')
  assert.deepEqual(
    result.files.map((f) => `${f.kind} ${f.path}`),
    ['modified a.txt', 'added new.txt'],
  )
  const after = await repoState(root)
  assert.deepEqual(after.tree, agentTree)
  assert.equal(after.status, ' M a.txt\n?? new.txt')
  assert.equal(after.index, before.index)
  assert.equal(after.head, before.head)
  assert.equal(after.branches, before.branches)
  assert.equal(after.worktrees, before.worktrees)
  assert.deepEqual(await scratchLeft(home), [])
})

for (const later of ['still uncommitted', 'committed since'] as const)
  test(`the uncommitted work the session started from is where its patch starts: it fits onto it (${later})`, async () => {
    const root = await project()
    const userWork = { 'a.txt': LINES.replace('one', 'USER'), 'untracked.txt': 'mine\n' }
    const run = { 'a.txt': LINES.replace('one', 'USER').replace('three', 'AGENT'), 'untracked.txt': 'mine\nagent\n' }
    const { session: s, agentTree } = await agentSession(`dirty-${later.split(' ')[0]}`, root, fresh('bench'), [run], userWork)
    if (later === 'committed since') {
      await git(root, 'add', '-A')
      await git(root, 'commit', '-qm', 'the user commits their work')
    }

    const before = await repoState(root)
    assert.equal((await applySession(s, { check: true })).status, 'would-apply')
    const result = await applySession(s)
    assert.deepEqual(
      { status: result.status, method: result.status === 'applied' && result.method },
      { status: 'applied', method: 'clean' },
    )
    assert.deepEqual(await treeSnapshot(root), agentTree)
    assert.equal((await repoState(root)).index, before.index)
    assert.doesNotMatch(await combinedPatch(s), /^\+USER$/m, "the user's own edit is not the session's")
  })

test('binary files, deletions, renames, mode changes, symlinks, spaces and non-ASCII names, over two runs', async () => {
  const root = await project()
  const { session: s, agentTree } = await agentSession('kinds', root, fresh('bench'), EVERY_KIND)
  assert.equal(agentTree.link, 'link:sub/keep.txt')
  assert.equal(agentTree['a.txt'], fileEntry(LINES.replace('two', 'AGENT'), true))

  const result = await applySession(s)
  assert.deepEqual({ status: result.status, method: result.status === 'applied' && result.method }, { status: 'applied', method: 'clean' })
  assert.deepEqual(await treeSnapshot(root), agentTree)
  assert.deepEqual(result.files.map((f) => `${f.kind} ${f.oldPath} → ${f.path}${f.binary ? ' (binary)' : ''}`).sort(), [
    'added link → link',
    'added with space/file name.txt → with space/file name.txt',
    'added ünïcödé dir/naïve.bin → ünïcödé dir/naïve.bin (binary)',
    'deleted gone.txt → gone.txt',
    'modified a.txt → a.txt',
    'modified image.bin → image.bin (binary)',
    'modified run.sh → run.sh',
    'renamed old name.txt → new name ü.txt',
  ])
})

test('3-way when the user moved on: both sides kept, every kind of change too, unrelated unstaged work untouched', async () => {
  const root = await project()
  const { session: s, agentTree } = await agentSession('moved', root, fresh('bench'), EVERY_KIND)
  // The user committed an edit near one the session makes (the patch's context no longer fits) and a new file,
  // and has an unstaged edit to a file the session does not touch.
  await writeFiles(root, { 'a.txt': LINES.replace('four', 'USER'), 'user.txt': 'theirs\n' })
  await git(root, 'add', '-A')
  await git(root, 'commit', '-qm', 'user moved on')
  await writeFiles(root, { 'sub/keep.txt': 'keep, edited\n' })
  const before = await repoState(root)

  const result = await applySession(s)
  assert.deepEqual({ status: result.status, method: result.status === 'applied' && result.method }, { status: 'applied', method: '3way' })
  const expected = {
    ...agentTree,
    'a.txt': fileEntry(LINES.replace('two', 'AGENT').replace('four', 'USER'), true),
    'user.txt': fileEntry('theirs\n'),
    'sub/keep.txt': fileEntry('keep, edited\n'),
  }
  const after = await repoState(root)
  assert.deepEqual(after.tree, expected)
  assert.equal(after.head, before.head)
  assert.equal(after.branches, before.branches)
  assert.match(String(after.status), /^ M sub\/keep\.txt$/m, 'the unrelated edit is still unstaged')
  await git(root, 'fsck', '--no-dangling')
})

test('conflicts are reported with their paths; the user’s version is kept as "ours", the rest applied', async () => {
  const root = await project()
  const { session: s } = await agentSession('conflict', root, fresh('bench'), [
    { 'a.txt': LINES.replace('two', 'AGENT').replace('nine', 'AGENT9'), 'sub/keep.txt': 'agent keep\n', 'new.txt': 'new\n' },
  ])
  // Staged edits are safe in the index: apply merges, and these two conflict.
  await writeFiles(root, { 'a.txt': LINES.replace('two', 'USER'), 'sub/keep.txt': 'user keep\n' })
  await git(root, 'add', '-A')
  const head = await git(root, 'rev-parse', 'HEAD')

  const result = await applySession(s)
  assert.equal(result.status, 'conflicts')
  assert.deepEqual(result.status === 'conflicts' && result.conflicts, ['a.txt', 'sub/keep.txt'])
  assert.equal(
    await fs.readFile(path.join(root, 'a.txt'), 'utf8'),
    'one\n<<<<<<< ours\nUSER\n=======\nAGENT\n>>>>>>> theirs\nthree\nfour\nfive\nsix\nseven\neight\nAGENT9\nten\n',
  )
  assert.equal(await git(root, 'show', ':2:a.txt'), LINES.replace('two', 'USER').trimEnd())
  assert.equal(await git(root, 'status', '--porcelain'), 'UU a.txt\nA  new.txt\nUU sub/keep.txt')
  assert.equal(await fs.readFile(path.join(root, 'new.txt'), 'utf8'), 'new\n')
  assert.equal(await git(root, 'rev-parse', 'HEAD'), head)
  // Every object the conflict stages point at is in the repository (not in a deleted scratch dir).
  await git(root, 'fsck', '--no-dangling')
  assert.deepEqual(await scratchLeft(home), [])
})

test('unstaged edits on paths the session touches are refused, named, and nothing changes', async () => {
  const root = await project()
  const { session: s } = await agentSession('blocked', root, fresh('bench'), [
    { 'a.txt': LINES.replace('two', 'AGENT'), 'new.txt': 'new\n' },
  ])
  await writeFiles(root, { 'a.txt': LINES.replace('two', 'USER') })
  const before = await repoState(root)
  const objects = await objectFiles(root)
  const message = (paths: string, verb: string) =>
    `cannot apply: the session changes ${paths}, which ${verb} uncommitted edits that a 3-way merge would not protect — commit or stage them (git add), then run 'realm apply blocked' again`

  await assert.rejects(applySession(s), { name: 'UserError', message: message('a.txt', 'has') })
  await assert.rejects(applySession(s, { check: true }), { name: 'UserError', message: message('a.txt', 'has') })
  // An untracked file where the session creates one is just as unprotected.
  await writeFiles(root, { 'new.txt': 'mine\n' })
  const withUntracked = await repoState(root)
  await assert.rejects(applySession(s), { message: message('a.txt, new.txt', 'have') })
  assert.deepEqual(await repoState(root), withUntracked)
  await fs.rm(path.join(root, 'new.txt'))
  assert.deepEqual(await repoState(root), before)
  assert.deepEqual(await objectFiles(root), objects, 'nothing was written to the repository either')
})

test('a long list of blocked paths is cut short', async () => {
  const root = await project()
  const names = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'].map((n) => `${n}.txt`)
  const { session: s } = await agentSession('many', root, fresh('bench'), [Object.fromEntries(names.map((n) => [n, 'agent\n']))])
  await writeFiles(root, Object.fromEntries(names.map((n) => [n, 'user\n'])))
  await assert.rejects(applySession(s), {
    message: /^cannot apply: the session changes f1\.txt, f2\.txt, f3\.txt, f4\.txt, f5\.txt and 2 more, which have uncommitted edits/,
  })
})

test('--check writes nothing: working tree, index, HEAD and objects identical, whichever way it would apply', async () => {
  const root = await project()
  const { session: s } = await agentSession('check', root, fresh('bench'), EVERY_KIND)
  let before = await repoState(root)
  let objects = await objectFiles(root)
  const clean = await applySession(s, { check: true })
  assert.deepEqual(
    { status: clean.status, method: clean.status === 'would-apply' && clean.method },
    { status: 'would-apply', method: 'clean' },
  )
  assert.equal(clean.files.length, 8)
  assert.deepEqual(await repoState(root), before)
  assert.deepEqual(await objectFiles(root), objects)

  await writeFiles(root, { 'a.txt': LINES.replace('four', 'USER') })
  await git(root, 'commit', '-qam', 'user moved on')
  before = await repoState(root)
  objects = await objectFiles(root)
  const merged = await applySession(s, { check: true })
  assert.deepEqual(
    { status: merged.status, method: merged.status === 'would-apply' && merged.method },
    { status: 'would-apply', method: '3way' },
  )
  assert.deepEqual(await repoState(root), before)
  assert.deepEqual(await objectFiles(root), objects)
  assert.deepEqual(await scratchLeft(home), [])
})

test('a session with nothing to apply says so, also when its runs cancel out', async () => {
  const root = await project()
  const empty = await makeSession('empty', root)
  await assert.rejects(applySession(empty), { name: 'UserError', message: "session 'empty' has no changes to apply" })
  const { session: undone } = await agentSession('undone', root, fresh('bench'), [
    { 'a.txt': 'gone\n', 'x.txt': 'x\n' },
    { 'a.txt': LINES, 'x.txt': null },
  ])
  const before = await repoState(root)
  await assert.rejects(applySession(undone), { message: "session 'undone' has no changes to apply (its runs cancel out)" })
  assert.deepEqual(await repoState(root), before)
})
