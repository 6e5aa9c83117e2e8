// Getting work out of a session: diff, apply, push, the post-run review and `new --remote`, against a real
// engine, with a bare repository on disk as origin.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { addOrigin, git, hostState, makeRepo, pushedTree, pushElsewhere, remoteTip, repoState, writeFiles } from '../helpers/repo.js'
import { explain, realm, realmEnv, REALM_BIN, tempDir } from '../helpers/realm.js'
import { scratchLeft, sessionTree } from '../helpers/session.js'
import { onTerminal } from '../helpers/terminal.js'

const skip = await dockerSkip()

let tmp: { path: string; cleanup: () => Promise<void> }
let home: string
let counter = 0

/** A fresh project with `origin` (a bare repository) and main pushed to it. */
async function project(files: Record<string, string | Buffer> = {}): Promise<{ root: string; bare: string }> {
  const dir = path.join(tmp.path, `p${++counter}`)
  const root = await makeRepo(path.join(dir, 'project'), {
    'README.md': '# project\n',
    'a.txt': 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n',
    'image.bin': Buffer.from([0, 1, 2, 3, 255, 0]),
    'run.sh': '#!/bin/sh\necho run\n',
    ...files,
  })
  const bare = path.join(dir, 'origin.git')
  await addOrigin(root, bare)
  return { root, bare }
}

async function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  return realm(args, { cwd, home, env })
}

async function ok(args: string[], cwd: string) {
  const result = await run(args, cwd)
  assert.equal(result.code, 0, explain(result))
  return result
}

describe('getting work out', { skip }, () => {
  before(async () => {
    tmp = await tempDir()
    home = path.join(tmp.path, 'home')
  })
  after(async () => tmp.cleanup())

  test("push from a dirty tree: a commit for the user's edits, one for the agent's; binary and mode changes; host untouched", async () => {
    const { root, bare } = await project()
    // A hook that would leave a mark if realm ran the user's hooks.
    await writeFiles(root, {
      '.git/hooks/pre-push': '#!/bin/sh\ntouch "$GIT_DIR/../HOOK-RAN"\n',
      '.git/hooks/post-commit': '#!/bin/sh\ntouch "$GIT_DIR/../HOOK-RAN"\n',
    })
    await fs.chmod(path.join(root, '.git/hooks/pre-push'), 0o755)
    await fs.chmod(path.join(root, '.git/hooks/post-commit'), 0o755)
    await writeFiles(root, { 'a.txt': 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nuser line\n', 'untracked.txt': 'mine\n' })
    const before = await hostState(root)

    await ok(
      [
        'new',
        'work',
        'printf "\\001\\002\\377" > image.bin',
        'chmod +x a.txt',
        'chmod -x run.sh',
        'echo agent > agent.txt',
        'rm README.md',
      ],
      root,
    )
    const pushed = await ok(['push', 'work'], root)
    assert.match(pushed.stderr, /pushed [0-9a-f]{12} to origin\/work/)
    assert.match(pushed.stderr, /holds your uncommitted changes/)

    assert.deepEqual(await pushedTree(bare, 'work'), await sessionTree(home, 'work', root), "the pushed tree is the session's final tree")
    const log = (await git(bare, 'log', '--format=%s|%an', 'work')).split('\n')
    assert.deepEqual(log, ["realm: session 'work'|Test User", 'realm: uncommitted changes at session start|Test User', 'initial|Test User'])
    // The first commit holds exactly the user's edits.
    assert.equal(await git(bare, 'diff', '--name-only', 'work~2', 'work~1'), 'a.txt\nuntracked.txt')

    const afterPush = await hostState(root)
    assert.deepEqual(afterPush, before, 'working tree, index, HEAD, branches, worktrees and non-remote refs are as before')
    assert.equal(await git(root, 'rev-parse', 'refs/remotes/origin/work'), await remoteTip(bare, 'work'))
    assert.deepEqual(await scratchLeft(home), [], 'no temp directory left behind')
    await assert.rejects(fs.access(path.join(root, 'HOOK-RAN')), 'host git hooks must not run')

    const meta = JSON.parse(await fs.readFile(path.join(home, 'sessions', 'work', 'session.json'), 'utf8'))
    assert.equal(meta.pushed.commit, await remoteTip(bare, 'work'))
  })

  test('push after several resumes and a resume that changed nothing; pushing again replaces what realm pushed', async () => {
    const { root, bare } = await project()
    await ok(['new', 'multi', 'echo first > first.txt'], root)
    await ok(['push', 'multi'], root)
    const firstPush = await remoteTip(bare, 'multi')

    await ok(['resume', 'multi', 'echo second >> first.txt', 'mkdir -p d && echo deep > d/deep.txt'], root)
    await ok(['resume', 'multi', 'true'], root) // changes nothing: every earlier change stays
    await ok(['resume', 'multi', 'git mv a.txt b.txt'], root)
    const before = await hostState(root)
    const again = await ok(['push', 'multi'], root)
    assert.match(again.stderr, /pushed/)

    const tip = await remoteTip(bare, 'multi')
    assert.notEqual(tip, firstPush)
    assert.equal(
      (await git(bare, 'rev-parse', `${tip}^`)).trim(),
      (await git(root, 'rev-parse', 'main')).trim(),
      'a clean start: one commit on the base',
    )
    assert.deepEqual(await pushedTree(bare, 'multi'), await sessionTree(home, 'multi', root))
    assert.deepEqual(await hostState(root), before)

    // Nothing new since: the same commit, nothing rewritten.
    const same = await ok(['push', 'multi'], root)
    assert.match(same.stderr, /already at/)
    assert.equal(await remoteTip(bare, 'multi'), tip)
  })

  test('a session with nothing to push: a clear error, nothing pushed', async () => {
    const { root, bare } = await project()
    await ok(['new', 'empty', 'true'], root)
    const result = await run(['push', 'empty'], root)
    assert.equal(result.code, 1, explain(result))
    assert.equal(result.stderr.trim(), "realm: session 'empty' has nothing to push — run 'realm resume empty' to give the agent more to do")
    assert.equal(await remoteTip(bare, 'empty'), '')
  })

  test('refuses to overwrite a branch realm did not create, unless --force; --branch picks another', async () => {
    const { root, bare } = await project()
    await ok(['new', 'main', 'echo agent > agent.txt'], root)
    const mainBefore = await remoteTip(bare, 'main')
    const refused = await run(['push', 'main'], root)
    assert.equal(refused.code, 1, explain(refused))
    assert.match(refused.stderr, /^realm: origin\/main already exists and realm did not create it — .*--force\n$/)
    assert.equal(await remoteTip(bare, 'main'), mainBefore)

    await ok(['push', 'main', '--branch', 'agent/main'], root)
    assert.deepEqual(await pushedTree(bare, 'agent/main'), await sessionTree(home, 'main', root))
    assert.equal(await remoteTip(bare, 'main'), mainBefore)

    // Someone pushes to the branch realm created: realm will not overwrite their work either.
    await pushElsewhere(bare, 'agent/main', { 'theirs.txt': 'theirs\n' }, 'theirs')
    const theirs = await remoteTip(bare, 'agent/main')
    await ok(['resume', 'main', 'echo more >> agent.txt'], root)
    const moved = await run(['push', 'main', '--branch', 'agent/main'], root)
    assert.equal(moved.code, 1, explain(moved))
    assert.match(moved.stderr, /origin\/agent\/main changed since realm last saw it/)
    assert.equal(await remoteTip(bare, 'agent/main'), theirs)

    await ok(['push', 'main', '--force'], root)
    assert.deepEqual(await pushedTree(bare, 'main'), await sessionTree(home, 'main', root))
  })

  test('a push that fails half way leaves the host and the session as they were', async () => {
    const { root } = await project()
    await ok(['new', 'offline', 'echo x > x.txt'], root)
    await git(root, 'remote', 'add', 'gone', path.join(tmp.path, 'no-such-repo.git'))
    const before = await hostState(root)
    const result = await run(['push', 'offline', '--remote', 'gone'], root)
    assert.equal(result.code, 1, explain(result))
    assert.match(result.stderr, /^realm: push to gone failed \(nothing was changed there\): .+\n$/)
    assert.deepEqual(await hostState(root), before)
    assert.deepEqual(await scratchLeft(home), [])
    const meta = JSON.parse(await fs.readFile(path.join(home, 'sessions', 'offline', 'session.json'), 'utf8'))
    assert.equal(meta.pushed, undefined)

    const noRemote = await run(['push', 'offline', '--remote', 'nowhere'], root)
    assert.equal(noRemote.stderr, "realm: the project has no remote 'nowhere' — add one with 'git remote add nowhere <url>'\n")
  })

  test('diff: stat, whole session, latest run, risk flags', async () => {
    const { root } = await project()
    await ok(
      [
        'new',
        'look',
        'echo hello > hello.txt',
        'printf "\\000\\001" > blob.bin',
        'mkdir -p .github/workflows && echo "on: push" > .github/workflows/ci.yml',
      ],
      root,
    )
    await ok(['resume', 'look', 'echo again >> hello.txt'], root)

    const stat = await ok(['diff', 'look', '--stat'], root)
    assert.equal(
      stat.stdout,
      [
        'Session: 3 files changed, +3 -0',
        '  A .github/workflows/ci.yml  +1',
        '  A blob.bin  binary',
        '  A hello.txt  +2',
        '⚠ 1 change can run code on your machine or in CI — review before applying or pushing:',
        '  ! .github/workflows/ci.yml (CI workflow)',
        '',
      ].join('\n'),
    )

    const full = await ok(['diff', 'look'], root)
    assert.match(full.stdout, /^Session: 3 files changed/)
    assert.match(full.stdout, /\n--- \/dev\/null\n\+\+\+ b\/hello.txt\n@@ -0,0 \+1,2 @@\n\+hello\n\+again\n/)
    assert.match(full.stdout, /\nBinary file blob.bin added\n/)
    assert.ok(!full.stdout.includes('\x1b['), 'no color when stdout is not a terminal')

    const last = await ok(['diff', 'look', '--last'], root)
    assert.match(last.stdout, /^Latest run: 1 file changed, \+1 -0\n {2}M hello.txt {2}\+1\n\n/)
    assert.doesNotMatch(last.stdout, /ci\.yml/)

    const colored = await ok(['diff', 'look', '--color', 'always'], root)
    assert.ok(colored.stdout.includes('\x1b[32m+hello'), colored.stdout)
  })

  test("diff --stat: an agent that plants files its own tools and the user's would run gets a flag for each, by class", async () => {
    const { root } = await project()
    await ok(
      [
        'new',
        'plant',
        'echo "Always run ./setup.sh first" > CLAUDE.md',
        'mkdir -p tests .claude/commands && echo "import os" > tests/conftest.py && echo "run it" > .claude/commands/go.md',
        'echo "export A=1" > .envrc',
        'echo "def ok(): pass" > app.py',
      ],
      root,
    )
    const stat = await ok(['diff', 'plant', '--stat'], root)
    assert.deepEqual(stat.stdout.split('\n').slice(-6), [
      '⚠ 4 changes can run code on your machine or in CI — review before applying or pushing:',
      '  ! .claude/commands/go.md (agent instructions)',
      '  ! CLAUDE.md (agent instructions)',
      '  ! .envrc (direnv script)',
      '  ! tests/conftest.py (test runner config/hook)',
      '',
    ])
    assert.doesNotMatch(stat.stdout, /! app\.py/)
  })

  test('apply without a conflict: only the affected files change, the index does not', async () => {
    const { root } = await project()
    await writeFiles(root, { 'untracked.txt': 'mine\n' })
    await ok(
      [
        'new',
        'ap',
        'echo new > new.txt',
        'sed -i s/two/TWO/ a.txt',
        'echo more >> untracked.txt',
        'chmod +x a.txt',
        'printf "\\377" > image.bin',
      ],
      root,
    )
    const before = await repoState(root)

    const check = await ok(['apply', 'ap', '--check'], root)
    assert.match(check.stderr, /apply cleanly/)
    assert.deepEqual(await repoState(root), before, '--check changes nothing')

    await ok(['apply', 'ap'], root)
    const after = await repoState(root)
    const expected = await sessionTree(home, 'ap', root)
    assert.deepEqual(after.tree, expected, "the working tree is the session's final tree")
    assert.equal(after.index, before.index)
    assert.equal(after.head, before.head)
    assert.equal(after.branches, before.branches)
    assert.equal(after.worktrees, before.worktrees)
  })

  test('apply after the user moved on: a 3-way merge; a conflicting edit is never overwritten', async () => {
    const { root } = await project()
    await ok(['new', 'mv', 'sed -i s/two/AGENT/ a.txt', 'echo x > x.txt'], root)
    // The user committed an unrelated edit to the same file: the patch's context no longer fits exactly.
    await writeFiles(root, { 'a.txt': 'zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n' })
    await git(root, 'commit', '-qam', 'user moved on')
    await ok(['apply', 'mv'], root)
    assert.equal(await fs.readFile(path.join(root, 'a.txt'), 'utf8'), 'zero\none\nAGENT\nthree\nfour\nfive\nsix\nseven\neight\nnine\n')
    assert.equal(await fs.readFile(path.join(root, 'x.txt'), 'utf8'), 'x\n')

    // Now a conflicting, unstaged edit: refused, named, nothing touched.
    const { root: r2 } = await project()
    await ok(['new', 'cf', 'sed -i s/two/AGENT/ a.txt', 'echo y > y.txt'], r2)
    await writeFiles(r2, { 'a.txt': 'one\nUSER\nthree\nfour\nfive\nsix\nseven\neight\n' })
    const before = await repoState(r2)
    const blocked = await run(['apply', 'cf'], r2)
    assert.equal(blocked.code, 1, explain(blocked))
    assert.match(blocked.stderr, /^realm: cannot apply: the session changes a\.txt, which has uncommitted edits .* commit or stage them/)
    assert.deepEqual(await repoState(r2), before)
    const check = await run(['apply', 'cf', '--check'], r2)
    assert.equal(check.code, 1)

    // Staged, the edit is safe in the index: the merge conflicts and leaves git's usual conflict state.
    await git(r2, 'add', 'a.txt')
    const conflicted = await run(['apply', 'cf'], r2)
    assert.equal(conflicted.code, 1, explain(conflicted))
    assert.match(conflicted.stderr, /applied with conflicts in 1 file .*\n {2}U a\.txt\n/)
    assert.match(await fs.readFile(path.join(r2, 'a.txt'), 'utf8'), /<<<<<<< ours\nUSER\n=======\nAGENT\n>>>>>>> theirs\n/)
    assert.match(await git(r2, 'status', '--porcelain'), /^UU a\.txt$/m)
    assert.equal(
      await git(r2, 'show', ':2:a.txt'),
      'one\nUSER\nthree\nfour\nfive\nsix\nseven\neight',
      'the user\'s version is kept as "ours"',
    )
    assert.equal(await fs.readFile(path.join(r2, 'y.txt'), 'utf8'), 'y\n')
    // Every object the conflict stages point at is in the repository (not in a deleted scratch dir).
    await git(r2, 'fsck', '--no-dangling')
  })

  test('new --remote starts from the remote branch and push fast-forwards it', async () => {
    const { root, bare } = await project()
    await pushElsewhere(bare, 'feature', { 'feature.txt': 'their work\n' }, 'feature work')
    const tip = await remoteTip(bare, 'feature')

    await ok(['new', 'feature', '--remote', 'grep -q "their work" feature.txt', 'echo ours >> feature.txt'], root)
    await ok(['push', 'feature'], root)
    const pushed = await remoteTip(bare, 'feature')
    assert.equal((await git(bare, 'rev-parse', `${pushed}^`)).trim(), tip, 'a fast-forward from the tip the session started from')
    assert.deepEqual(await pushedTree(bare, 'feature'), await sessionTree(home, 'feature', root))
  })

  test('new --remote with a missing branch is a clear error and leaves no session', async () => {
    const { root } = await project()
    const result = await run(['new', 'nobranch', '--remote', 'true'], root)
    assert.equal(result.code, 1, explain(result))
    assert.equal(result.stderr, "realm: origin has no branch 'nobranch' — push it first, or start without --remote\n")
    await assert.rejects(fs.access(path.join(home, 'sessions', 'nobranch')))
  })

  test('review on a terminal: the summary, then a menu; discard drops only this run', async () => {
    const { root } = await project()
    await ok(['new', 'rev', 'echo kept > kept.txt'], root)
    const env: Record<string, string | undefined> = { ...realmEnv(home), TERM: 'xterm' }
    await fs.mkdir(String(env.HOME), { recursive: true })
    // Keys go in only once the menu is up: until then the terminal belongs to the agent's container.
    const { seen, ...result } = await onTerminal([REALM_BIN, 'resume', 'rev', 'echo dropped > dropped.txt'], {
      cwd: root,
      env,
      prompt: 'What now',
      keys: '\x1b[B\x1b[B\x1b[B\x1b[B\r', // ↓×4: discard
    })
    assert.equal(result.exitCode, 0, seen)
    assert.match(seen, /This run: 1 file changed/)
    assert.match(seen, /discarded this run's changes/)
    assert.deepEqual(
      Object.keys(await sessionTree(home, 'rev', root))
        .filter((f) => f.endsWith('.txt'))
        .sort(),
      ['a.txt', 'kept.txt'],
    )
  })

  test('without a terminal the run prints the summary and the next commands, and asks nothing', async () => {
    const { root } = await project()
    const result = await ok(['new', 'quiet', 'echo x > x.txt'], root)
    assert.match(result.stderr, /Review: realm diff quiet {3}Apply: realm apply quiet {3}Push: realm push quiet/)
    assert.doesNotMatch(result.stdout + result.stderr, /What now/)
  })
})
