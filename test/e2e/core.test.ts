// The central loop against a real engine: new, resume, list, remove, and the patch invariants.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { makeRepo, repoState, treeSnapshot, writeFiles } from '../helpers/repo.js'
import { sessionTree } from '../helpers/session.js'
import { explain, realm } from '../helpers/realm.js'

const skip = await dockerSkip()

for (const workspace of ['overlay', 'copy'] as const) {
  describe(`core loop (${workspace} workspace)`, { skip }, () => {
    let tmp: string
    let project: string
    let home: string
    const env = { REALM_WORKSPACE: workspace }
    useProject(
      {
        'a.txt': 'one\ntwo\n',
        'bin.dat': Buffer.from([0, 1, 2, 255, 0]),
        'gone.txt': 'to be deleted\n',
        'old name.txt': 'renamed content that is long enough to be detected\n',
        'script.sh': '#!/bin/sh\necho hi\n',
        'sub/dir/keep.txt': 'keep\n',
      },
      (f) => ({ tmp, project, home } = f),
    )

    test('the patch reproduces the tree the agent left, byte for byte', async () => {
      // The user has uncommitted and untracked work: the agent must see it, and the baseline must hold it.
      await writeFiles(project, { 'a.txt': 'one\ntwo\nuser edit\n', 'untracked.txt': 'mine\n' })
      const before = await repoState(project)
      const script = [
        'grep -q "user edit" a.txt',
        'test -f untracked.txt',
        'printf "\\000\\377binary\\n" > new.bin',
        'rm gone.txt',
        'git mv "old name.txt" "new name ü.txt"',
        'chmod -x script.sh && chmod +x a.txt',
        'ln -s sub/dir/keep.txt link',
        'echo committed > committed.txt && git add committed.txt && git commit -qm "agent commit"',
        'echo "after commit" >> a.txt',
        'echo exit-code-check; exit 3',
      ]
      const result = await realm(['new', 'inv', ...script], { cwd: project, home, env })
      assert.equal(result.code, 3, explain(result))
      assert.match(result.stdout, /exit-code-check/)
      assert.deepEqual(await repoState(project), before, 'the host checkout must not change')

      // What the agent left, computed independently: the user's tree plus the script's effects.
      const expected = await treeSnapshot(project)
      delete expected['gone.txt']
      delete expected['old name.txt']
      const bytes = Buffer.from([0, 255, ...Buffer.from('binary\n')])
      expected['new.bin'] = `-:${bytes.toString('base64')}`
      expected['new name ü.txt'] = `-:${Buffer.from('renamed content that is long enough to be detected\n').toString('base64')}`
      expected['script.sh'] = expected['script.sh'].replace(/^x/, '-')
      expected['a.txt'] = `x:${Buffer.from('one\ntwo\nuser edit\nafter commit\n').toString('base64')}`
      expected.link = 'link:sub/dir/keep.txt'
      expected['committed.txt'] = `-:${Buffer.from('committed\n').toString('base64')}`
      assert.deepEqual(await sessionTree(home, 'inv', project), expected)
      const changes = await fs.readFile(path.join(home, 'sessions', 'inv', 'changes.patch'), 'utf8')
      assert.match(changes, /rename from old name.txt/)
      assert.doesNotMatch(changes, /^\+user edit/m, "the user's own edit belongs to the baseline, not the run")
    })

    test('resume builds on everything so far; an empty run keeps it all', async () => {
      const first = await realm(['resume', 'inv', 'test -f committed.txt', 'echo second > second.txt'], { cwd: project, home, env })
      assert.equal(first.code, 0, explain(first))
      const dir = path.join(home, 'sessions', 'inv')
      assert.match(await fs.readFile(path.join(dir, 'base.patch'), 'utf8'), /committed.txt/)
      const changes = await fs.readFile(path.join(dir, 'changes.patch'), 'utf8')
      assert.match(changes, /second.txt/)
      assert.doesNotMatch(changes, /committed.txt/)
      const tree = await sessionTree(home, 'inv', project)

      const empty = await realm(['resume', 'inv', 'true'], { cwd: project, home, env })
      assert.equal(empty.code, 0, explain(empty))
      await assert.rejects(fs.access(path.join(dir, 'changes.patch')), 'an empty run leaves no changes.patch')
      assert.deepEqual(await sessionTree(home, 'inv', project), tree)
      assert.ok(await fs.readFile(path.join(dir, 'resumed_at'), 'utf8'))
    })

    test('list shows the session and remove deletes it', async () => {
      const listed = await realm(['list'], { cwd: project, home })
      assert.equal(listed.code, 0, explain(listed))
      assert.match(listed.stdout, /^NAME\s+PROJECT\s+CREATED\s+PATCH$/m)
      assert.match(listed.stdout, new RegExp(`^inv\\s+${project}\\s+\\S+\\s+yes \\(\\d+(B|KB)\\)$`, 'm'))
      const json = JSON.parse((await realm(['list', '--json'], { cwd: project, home })).stdout) as Array<{ name: string }>
      assert.deepEqual(
        json.map((s) => s.name),
        ['inv'],
      )
      const removed = await realm(['rm', 'inv'], { cwd: project, home })
      assert.equal(removed.code, 0, explain(removed))
      assert.equal((await realm(['list'], { cwd: project, home })).stdout, 'No sessions found.\n')
    })

    // Under an overlay these leave no whiteout per file (a removed and re-created directory hides everything
    // below it), and a file realm wrote at the start of a resume leaves no trace in the upper layer once deleted.
    test('directory removals, re-created directories, type changes and force-added files', async () => {
      const tree = await makeRepo(path.join(tmp, 'tree'), {
        '.gitignore': 'build/\n*.log\n',
        'keep/a.txt': 'a\n',
        'wipe/x/1.txt': '1\n',
        'wipe/x/2.txt': '2\n',
        'wipe/y.txt': 'y\n',
        'redo/old1.txt': 'old1\n',
        'redo/deep/old2.txt': 'old2\n',
        file2dir: 'a file\n',
        'dir2file/inner.txt': 'inner\n',
      })
      const script = [
        'rm -rf wipe',
        'rm -rf redo && mkdir -p redo/deep && echo new > redo/deep/new.txt',
        'rm file2dir && mkdir file2dir && echo inside > file2dir/f.txt',
        'rm -rf dir2file && echo now-a-file > dir2file',
        'mkdir build && echo out > build/out.bin && echo log > x.log',
        'echo forced > forced.log && git add -f forced.log',
      ]
      const first = await realm(['new', 'shapes', ...script], { cwd: tree, home, env })
      assert.equal(first.code, 0, explain(first))
      const file = (text: string) => `-:${Buffer.from(text).toString('base64')}`
      const expected: Record<string, string> = {
        '.gitignore': file('build/\nx.log\n'.replace('x.log', '*.log')),
        'keep/a.txt': file('a\n'),
        'redo/deep/new.txt': file('new\n'),
        'file2dir/f.txt': file('inside\n'),
        dir2file: file('now-a-file\n'),
        'forced.log': file('forced\n'),
      }
      assert.deepEqual(await sessionTree(home, 'shapes', tree), expected)

      // The resume starts from that state (realm writes redo/deep/new.txt into the workspace); the agent deletes it.
      const second = await realm(['resume', 'shapes', 'test -f redo/deep/new.txt', 'rm redo/deep/new.txt', 'echo more >> keep/a.txt'], {
        cwd: tree,
        home,
        env,
      })
      assert.equal(second.code, 0, explain(second))
      delete expected['redo/deep/new.txt']
      expected['keep/a.txt'] = file('a\nmore\n')
      assert.deepEqual(await sessionTree(home, 'shapes', tree), expected)
    })
  })
}

describe('where and how the agent runs', { skip }, () => {
  let tmp: string
  let project: string
  let home: string
  useProject({ 'pkg/sub/file.txt': 'x\n', 'top.txt': 'top\n' }, (f) => ({ tmp, project, home } = f))

  test('from a subdirectory: the session is the repository, the agent starts in the subdirectory', async () => {
    const result = await realm(['new', 'sub', 'pwd > here.txt', 'test -f file.txt', 'test -f ../../top.txt'], {
      cwd: path.join(project, 'pkg', 'sub'),
      home,
    })
    assert.equal(result.code, 0, explain(result))
    assert.equal((await fs.readFile(path.join(home, 'sessions', 'sub', 'project_dir'), 'utf8')).trim(), project)
    assert.match(await fs.readFile(path.join(home, 'sessions', 'sub', 'changes.patch'), 'utf8'), /^\+\/workspace\/pkg\/sub$/m)
  })

  test('a project directory given as the first extra argument', async () => {
    const result = await realm(['new', 'bydir', project, 'echo x > x.txt'], { cwd: tmp, home })
    assert.equal(result.code, 0, explain(result))
    assert.equal((await fs.readFile(path.join(home, 'sessions', 'bydir', 'project_dir'), 'utf8')).trim(), project)
  })

  test('--shell runs a shell instead of the agent, captured the same way', async () => {
    const result = await realm(['new', 'shell', '--shell'], { cwd: project, home, input: 'echo from-shell > shell.txt\nexit 4\n' })
    assert.equal(result.code, 4, explain(result))
    assert.match(await fs.readFile(path.join(home, 'sessions', 'shell', 'changes.patch'), 'utf8'), /^\+from-shell$/m)
  })

  test("snapshots never touch the agent's own index or HEAD", async () => {
    const script = [
      'echo staged > staged.txt && git add staged.txt',
      'echo loose > loose.txt',
      'git rev-parse HEAD > head-before.txt',
      'sleep 4', // at least one snapshot happens meanwhile
      'git status --porcelain --untracked-files=all > status.txt',
      'git rev-parse HEAD > head-after.txt',
    ]
    const result = await realm(['new', 'index', ...script], { cwd: project, home })
    assert.equal(result.code, 0, explain(result))
    const patch = await fs.readFile(path.join(home, 'sessions', 'index', 'changes.patch'), 'utf8')
    assert.match(patch, /^\+A {2}staged\.txt$/m, 'the staged file is still staged')
    assert.match(patch, /^\+\?\? loose\.txt$/m, 'the loose file is still untracked')
    const heads = patch.match(/^\+[0-9a-f]{40}$/gm) ?? []
    assert.equal(heads.length, 2)
    assert.equal(heads[0], heads[1])
  })

  test('remove asks on a terminal before deleting unpushed work; --yes and no terminal do not ask', async () => {
    assert.equal((await realm(['new', 'keepme', 'echo x > x.txt'], { cwd: project, home })).code, 0)
    const declined = await realm(['remove', 'keepme'], { cwd: project, home, tty: true, prompt: 'never pushed', answer: 'n\r' })
    assert.notEqual(declined.code, 0, explain(declined))
    assert.ok(await fs.stat(path.join(home, 'sessions', 'keepme')))
    const accepted = await realm(['remove', 'keepme'], { cwd: project, home, tty: true, prompt: 'never pushed', answer: 'y\r' })
    assert.equal(accepted.code, 0, explain(accepted))
    await assert.rejects(fs.access(path.join(home, 'sessions', 'keepme')))
    assert.equal((await realm(['new', 'forced', 'echo x > x.txt'], { cwd: project, home })).code, 0)
    assert.equal(
      (await realm(['remove', 'forced', '--yes'], { cwd: project, home, tty: true, prompt: 'never pushed', answer: 'n\r' })).code,
      0,
    )
    await assert.rejects(fs.access(path.join(home, 'sessions', 'forced')))
  })
})
