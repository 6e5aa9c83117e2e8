// `realm push` (lib/deliver/push.ts) against a bare repository on disk as origin: the session's tree as commits on
// the commit it started from, and nothing of the user's repository touched but its objects and remote refs.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

import { pushSession } from '../../lib/deliver/push.ts'
import { loadSession, updateSession } from '../../lib/session/store.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { addOrigin, git, hostState, makeRepo, pushedTree, pushElsewhere, remoteTip } from '../helpers/repo.js'
import { scratchLeft, sessionFile, sessionTree } from '../helpers/session.js'
import { agentSession, makeSession, workbench } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const ORIGIN = { remote: 'origin' }

/** A project with `origin` (a bare repository) that has main; hooks that leave a mark if anything runs them. */
async function project() {
  const root = await makeRepo(fresh('project'), {
    'a.txt': 'one\ntwo\nthree\n',
    'image.bin': Buffer.from([0, 1, 2, 255]),
    'run.sh': { data: '#!/bin/sh\necho run\n', mode: 0o755 },
    '.git/hooks/pre-push': { data: '#!/bin/sh\ntouch "$GIT_DIR/../HOOK-RAN"\n', mode: 0o755 },
    '.git/hooks/post-commit': { data: '#!/bin/sh\ntouch "$GIT_DIR/../HOOK-RAN"\n', mode: 0o755 },
  })
  const bare = path.join(path.dirname(root), `${path.basename(root)}-origin.git`)
  await addOrigin(root, bare)
  return { root, bare }
}

test("the pushed tree is the session's; the user's uncommitted work is a commit of its own; the host is untouched", async () => {
  const { root, bare } = await project()
  const { session: s, agentTree } = await agentSession(
    'work',
    root,
    fresh('bench'),
    [
      { 'image.bin': Buffer.from([9, 0, 9]), 'run.sh': { mode: 0o644 }, 'agent.txt': 'agent\n' },
      { 'a.txt': { mode: 0o755 }, link: { link: 'a.txt' }, 'dir with space/ü.txt': 'ü\n' },
    ],
    { 'a.txt': 'one\ntwo\nthree\nuser line\n', 'untracked.txt': 'mine\n' },
  )
  const base = await git(root, 'rev-parse', 'HEAD')
  const before = await hostState(root)

  const result = await pushSession(s, { ...ORIGIN, branch: 'work' })
  assert.equal(result.upToDate, false)
  assert.equal(result.replaced, undefined)
  assert.equal(result.commit, await remoteTip(bare, 'work'))
  assert.deepEqual(await pushedTree(bare, 'work'), agentTree, "the pushed tree is the agent's, byte for byte")
  assert.deepEqual(await pushedTree(bare, 'work'), await sessionTree(home, 'work', root))

  assert.equal(
    await git(bare, 'log', '--format=%H %P|%s|%an <%ae>|%cn', '-3', 'work'),
    [
      `${result.commit} ${result.baselineCommit}|realm: session 'work'|Test User <test@example.com>|Test User`,
      `${result.baselineCommit} ${base}|realm: uncommitted changes at session start|Test User <test@example.com>|Test User`,
      `${base} |initial|Test User <test@example.com>|Test User`,
    ].join('\n'),
  )
  assert.equal(
    await git(bare, 'diff', '--name-only', base, `${result.commit}^`),
    'a.txt\nuntracked.txt',
    "the first commit holds exactly the user's edits",
  )

  assert.deepEqual(await hostState(root), before, 'working tree, index, HEAD, branches, worktrees and refs outside refs/remotes/')
  assert.equal(await git(root, 'rev-parse', 'refs/remotes/origin/work'), result.commit)
  await assert.rejects(fs.access(path.join(root, 'HOOK-RAN')), 'no hook of the repository ran')
  assert.deepEqual(await scratchLeft(home), [])
  // What realm pushed, so that the next push replaces exactly that: the commit and the runs it was made from.
  const runs = await Promise.all(['base.patch', 'changes.patch'].map((f) => fs.readFile(sessionFile(home, 'work', f))))
  assert.deepEqual((await loadSession('work')).meta.pushed, {
    remote: 'origin',
    branch: 'work',
    commit: result.commit,
    digest: createHash('sha256').update(Buffer.concat(runs)).digest('hex'),
  })
})

test('without uncommitted work at the start, one commit on the base', async () => {
  const { root, bare } = await project()
  const { session: s, agentTree } = await agentSession('clean', root, fresh('bench'), [{ 'agent.txt': 'agent\n' }])
  const result = await pushSession(s, { ...ORIGIN, branch: 'clean' })
  assert.equal(result.baselineCommit, undefined)
  assert.equal(await git(bare, 'rev-parse', `${result.commit}^`), await git(root, 'rev-parse', 'HEAD'))
  assert.deepEqual(await pushedTree(bare, 'clean'), agentTree)
})

test('a second push with nothing new is up to date; after another run, it replaces what realm pushed', async () => {
  const { root, bare } = await project()
  const bench = await workbench(root, fresh('bench'))
  await bench.change({ 'first.txt': 'first\n' })
  const first = await bench.capture()
  const s = await makeSession('again', root, { 'changes.patch': first })
  const pushed = await pushSession(s, { ...ORIGIN, branch: 'again' })

  const before = await hostState(root)
  const same = await pushSession(await loadSession('again'), { ...ORIGIN, branch: 'again' })
  assert.deepEqual(
    { commit: same.commit, upToDate: same.upToDate, replaced: same.replaced },
    { commit: pushed.commit, upToDate: true, replaced: pushed.commit },
  )
  assert.equal(await remoteTip(bare, 'again'), pushed.commit)
  assert.deepEqual(await hostState(root), before)

  // A resume: base.patch holds the first run, changes.patch the second.
  await bench.change({ 'first.txt': 'first\nsecond\n', 'b.txt': { from: 'a.txt' } })
  const second = await bench.capture()
  const resumed = await loadSession('again')
  await updateSession(resumed, { 'base.patch': { data: first }, 'changes.patch': { data: second } })
  const replaced = await pushSession(resumed, { ...ORIGIN, branch: 'again' })
  assert.equal(replaced.upToDate, false)
  assert.equal(replaced.replaced, pushed.commit)
  assert.notEqual(replaced.commit, pushed.commit)
  assert.equal(
    await git(bare, 'rev-parse', `${replaced.commit}^`),
    await git(root, 'rev-parse', 'HEAD'),
    'one commit on the base, not on the last push',
  )
  assert.deepEqual(await pushedTree(bare, 'again'), await bench.tree())
})

test('a branch realm did not create is refused, unless force; nor one someone else pushed to since', async () => {
  const { root, bare } = await project()
  const { session: s, agentTree } = await agentSession('main', root, fresh('bench'), [{ 'agent.txt': 'agent\n' }])
  const mainBefore = await remoteTip(bare, 'main')
  const before = await hostState(root)
  await assert.rejects(pushSession(s, { ...ORIGIN, branch: 'main' }), {
    name: 'UserError',
    message:
      'origin/main already exists and realm did not create it — push to another branch with --branch <name>, or overwrite it with --force',
  })
  assert.equal(await remoteTip(bare, 'main'), mainBefore)
  assert.equal((await loadSession('main')).meta.pushed, undefined)
  assert.deepEqual(await hostState(root), before)

  const forced = await pushSession(s, { ...ORIGIN, branch: 'main', force: true })
  assert.equal(await remoteTip(bare, 'main'), forced.commit)
  assert.equal(await git(bare, 'rev-parse', `${forced.commit}^`), mainBefore)
  assert.deepEqual(await pushedTree(bare, 'main'), agentTree)

  // Someone pushes on top of what realm pushed: realm will not overwrite their work either.
  const theirs = await pushElsewhere(bare, 'main', { 'theirs.txt': 'theirs\n' }, 'theirs')
  await assert.rejects(pushSession(await loadSession('main'), { ...ORIGIN, branch: 'main' }), {
    message: `origin/main changed since realm last saw it (expected ${forced.commit.slice(0, 12)}) — someone else pushed there; push to another branch with --branch <name>, or overwrite it with --force`,
  })
  assert.equal(await remoteTip(bare, 'main'), theirs)
})

test('nothing to push, no such remote, no identity: a clear error, nothing pushed', async () => {
  const { root, bare } = await project()
  const empty = await makeSession('empty', root)
  await assert.rejects(pushSession(empty, { ...ORIGIN, branch: 'empty' }), {
    message: "session 'empty' has nothing to push — run 'realm resume empty' to give the agent more to do",
  })
  const { session: undone } = await agentSession('undone', root, fresh('bench'), [{ 'x.txt': 'x\n' }, { 'x.txt': null }])
  await assert.rejects(pushSession(undone, { ...ORIGIN, branch: 'undone' }), {
    message: "session 'undone' has nothing to push: its runs changed nothing",
  })
  const { session: s } = await agentSession('nowhere', root, fresh('bench'), [{ 'x.txt': 'x\n' }])
  await assert.rejects(pushSession(s, { remote: 'nowhere', branch: 'nowhere' }), {
    message: "the project has no remote 'nowhere' — add one with 'git remote add nowhere <url>'",
  })
  // realm's commits are the user's work: without an identity it stops before making any.
  await git(root, 'config', '--unset', 'user.name')
  await assert.rejects(pushSession(s, { ...ORIGIN, branch: 'anonymous' }), {
    message:
      "git has no user.name/user.email for this project — set them (git config --global user.name '…'; git config --global user.email '…') and push again",
  })
  assert.equal(await git(bare, 'for-each-ref', '--format=%(refname)'), 'refs/heads/main')
  assert.deepEqual(await scratchLeft(home), [])
})
