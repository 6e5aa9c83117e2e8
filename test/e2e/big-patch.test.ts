// A session whose patch is big, through the real bin/realm: diff (whole, --stat, into a pager the user quits, into
// a pipe that closes early), apply --check, apply and push, for a session of one run and one of two; a patch of
// every kind of change among many added files; and, with Docker, the post-run review's "View the diff" after an
// agent that added thousands of files.
//
// The size: 6,000 files and about 11 MB, one file a single hunk of 120,000 lines (2 MB). That takes every path a
// 10,000-file, 50 MB patch takes: more sections than one read holds, a section bigger than a read, a hunk and a
// diff far past the ~120,000 lines that used to overflow the stack, more added files than realm writes one by one.
// 10,000 files would only make it slower: writing them is most of its time, and it must stay well under a minute
// on two cores. `npm run bench -- --only big-patch` times the same
// commands on 10,000 files and 50 MB against plain git.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { useRealmHome } from '../helpers/fixture.js'
import { explain, REALM_BIN, realm, realmEnv, shellQuote } from '../helpers/realm.js'
import { onTerminal } from '../helpers/terminal.js'
import { addOrigin, type FileChange, git, makeRepo } from '../helpers/repo.js'
import { makeSession, type Workbench, workbench } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const FILES = 6_000
const MODIFIED = 500
const HUGE_LINES = 120_000

/** Some text for file `i`, about 1.5 KB, different in every file. */
function content(i: number, lines = 30): string {
  let text = ''
  for (let n = 0; n < lines; n++) text += `line ${n} of file ${i}: ${(i * 7919 + n * 104729).toString(36).repeat(3)}\n`
  return text
}

/** The project: files the agent will modify, a package.json, one to rename, one to delete. */
function projectFiles(): Record<string, FileChange> {
  const files: Record<string, FileChange> = {
    'package.json': '{\n  "name": "big",\n  "scripts": {\n    "test": "node test.js"\n  }\n}\n',
    'old name.txt': content(-1),
    'gone.txt': content(-2),
  }
  for (let i = 0; i < MODIFIED; i++) files[`src/m${i % 10}/file${i}.txt`] = content(i)
  return files
}

/** The agent's first run: new files (one of them huge), modifications, a rename, a deletion, a binary, a risky script. */
function firstRun(files = FILES): Record<string, FileChange> {
  const changes: Record<string, FileChange> = {
    'package.json': '{\n  "name": "big",\n  "scripts": {\n    "test": "node test.js",\n    "postinstall": "node x.js"\n  }\n}\n',
    'new name.txt': { from: 'old name.txt' },
    'gone.txt': null,
    'image.bin': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256)),
    'huge.txt': Array.from({ length: HUGE_LINES }, (_, n) => `huge line ${n}\n`).join(''),
    'run me.sh': { mode: 0o755, data: '#!/bin/sh\necho hi\n' },
  }
  for (let i = 0; i < MODIFIED; i++) changes[`src/m${i % 10}/file${i}.txt`] = content(i).replace(/^line 3 .*$/m, `changed ${i}`)
  for (let i = 0; Object.keys(changes).length < files; i++)
    changes[`new/p${Math.floor(i / 1000)}/d${Math.floor(i / 100) % 10}/file${i}.txt`] = content(i + FILES)
  return changes
}

interface Fixture {
  root: string
  bare: string
  bench: Workbench
  /** the tree of the session's final state */
  tree: string
  /** the stored patch */
  patch: string
}

async function fixture(name: string, runs: Array<Record<string, FileChange>>): Promise<Fixture> {
  const root = await makeRepo(fresh('project'), projectFiles())
  const bare = `${root}-origin.git`
  await addOrigin(root, bare)
  const bench = await workbench(root, fresh('bench'))
  const patches: string[] = []
  for (const run of runs) {
    await bench.change(run)
    patches.push(await bench.capture())
  }
  const stored = patches.length === 1 ? { 'changes.patch': patches[0] } : { 'base.patch': patches[0], 'changes.patch': patches[1] }
  await makeSession(name, root, stored)
  return { root, bare, bench, tree: await bench.snapshot(), patch: path.join(home, 'sessions', name, 'changes.patch') }
}

async function ok(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = await realm(args, { cwd, home, env, timeout: 60_000 })
  assert.equal(result.code, 0, explain(result).slice(0, 4000))
  assert.doesNotMatch(result.stderr, /RangeError|Error:|EPIPE/)
  return result
}

/** What git says the patch changes: files, lines added, lines removed. */
async function gitStat(cwd: string, patch: string): Promise<{ files: number; added: number; removed: number }> {
  const numstat = (await git(cwd, 'apply', '--numstat', patch)).split('\n')
  const stat = { files: numstat.length, added: 0, removed: 0 }
  for (const line of numstat) {
    const [added, removed] = line.split('\t')
    if (added !== '-') stat.added += Number(added)
    if (removed !== '-') stat.removed += Number(removed)
  }
  return stat
}

describe('a big patch', () => {
  let one: Fixture

  before(async () => {
    one = await fixture('big', [firstRun()])
  })

  test('diff --stat: every file, the totals git counts, the risky script', async () => {
    const { stdout } = await ok(['diff', 'big', '--stat'], one.root)
    const lines = stdout.split('\n')
    const stat = await gitStat(one.root, one.patch)
    assert.equal(stat.files, FILES)
    assert.equal(lines[0], `Session: ${FILES} files changed, +${stat.added} -${stat.removed}`)
    assert.equal(lines.filter((l) => /^ {2}[AMDRC] /.test(l)).length, FILES)
    assert.ok(lines.includes('  A huge.txt  +120000'))
    assert.ok(lines.includes('  R old name.txt → new name.txt  +0'))
    assert.ok(lines.includes('  ! package.json (package.json scripts)'))
  })

  test('diff: the whole patch, streamed to the end', async () => {
    const { stdout } = await ok(['diff', 'big'], one.root)
    const patch = await fs.readFile(one.patch, 'utf8')
    assert.ok(stdout.length > patch.length * 0.9, `${stdout.length} characters for a patch of ${patch.length}`)
    assert.match(stdout, /\n\+\+\+ b\/huge\.txt\n@@ -0,0 \+1,120000 @@\n\+huge line 0\n/)
    assert.match(stdout, /\n\+huge line 119999\n/)
    assert.match(stdout, /\nBinary file image\.bin added\n/)
    // The last section of the patch is the last thing shown.
    const last = patch.slice(patch.lastIndexOf('\n+') + 1, -1)
    assert.ok(stdout.endsWith(`\n${last}\n`), 'the output ends with the patch')
  })

  test('diff into a pipe that closes early, and into a pager the user quits: realm stops quietly', async () => {
    const piped = await execa('bash', ['-c', `set -o pipefail; ${shellQuote(REALM_BIN)} diff big | head -c 1000 >/dev/null`], {
      cwd: one.root,
      env: realmEnv(home),
      reject: false,
      timeout: 30_000,
    })
    assert.equal(piped.exitCode, 0, piped.stderr)
    assert.equal(piped.stderr, '')

    // On a terminal the diff goes through $PAGER; this one reads 2,000 bytes and quits, as `q` in less would.
    const started = Date.now()
    const paged = await realm(['diff', 'big'], {
      cwd: one.root,
      home,
      tty: true,
      prompt: 'Session:',
      answer: '',
      env: { PAGER: 'head -c 2000', TERM: 'xterm' },
    })
    assert.equal(paged.code, 0, explain(paged).slice(0, 4000))
    assert.match(paged.stdout, new RegExp(`Session: ${FILES} files changed`))
    assert.doesNotMatch(paged.stdout, /Error|EPIPE/)
    assert.ok(Date.now() - started < 20_000, 'it did not render the rest')
  })

  test('apply --check, then apply: the working tree becomes the session’s', async () => {
    const check = await ok(['apply', 'big', '--check'], one.root)
    assert.match(check.stderr, new RegExp(`^Session: ${FILES} files changed`))
    assert.match(check.stderr, /apply cleanly/)
    assert.equal(await git(one.root, 'status', '--porcelain'), '', '--check changes nothing')

    const applied = await ok(['apply', 'big'], one.root)
    assert.match(applied.stderr, /applied the session's changes/)
    await git(one.root, 'add', '-A')
    assert.equal(await git(one.root, 'write-tree'), one.tree)
  })

  test('push: the pushed tree is the session’s, the repository is whole', async () => {
    const pushed = await ok(['push', 'big'], one.root)
    assert.match(pushed.stderr, new RegExp(`^Pushed: ${FILES} files changed`))
    assert.match(pushed.stderr, /pushed [0-9a-f]{12} to origin\/big/)
    assert.equal(await git(one.bare, 'rev-parse', 'big^{tree}'), one.tree)
    await git(one.root, 'fsck', '--no-dangling', '--no-progress')
  })
})

describe('a big patch over two runs (folded into one)', () => {
  let two: Fixture

  before(async () => {
    const second: Record<string, FileChange> = { 'huge.txt': null, 'package.json': '{\n  "name": "big"\n}\n' }
    for (let i = 0; i < 2000; i++) second[`more/file${i}.txt`] = content(i + 3 * FILES)
    for (let i = 0; i < 200; i++) second[`src/m${i % 10}/file${i}.txt`] = content(i).replace(/^line 7 .*$/m, 'again')
    // Smaller than the first suite's: the fold is what is new here, and it is the same for any size.
    two = await fixture('two', [firstRun(2000), second])
  })

  test('diff --stat and diff show the whole session from its baseline', async () => {
    const { stdout } = await ok(['diff', 'two', '--stat'], two.root)
    assert.match(stdout, /^Session: 3999 files changed, /)
    assert.doesNotMatch(stdout, /huge\.txt/, 'added by one run and deleted by the next')
    const diff = await ok(['diff', 'two'], two.root)
    assert.match(diff.stdout, /\n\+\+\+ b\/more\/file1999\.txt\n/)
  })

  test('push, then apply', async () => {
    await ok(['push', 'two'], two.root)
    assert.equal(await git(two.bare, 'rev-parse', 'two^{tree}'), two.tree)
    await git(two.root, 'fsck', '--no-dangling', '--no-progress')
    await ok(['apply', 'two'], two.root)
    await git(two.root, 'add', '-A')
    assert.equal(await git(two.root, 'write-tree'), two.tree)
  })
})

describe('every kind of change alongside many added files', () => {
  // Push and a fold of several runs make the many added files into one pack and leave the rest to git apply:
  // mixed in one patch, the tree they build must be git's, byte for byte.
  test('push and diff of two runs build exactly the tree the runs made', async () => {
    const root = await makeRepo(fresh('kinds'), {
      'a.txt': 'one\ntwo\nthree\n',
      'old name.txt': content(-3),
      'gone.txt': 'gone\n',
      'run.sh': { mode: 0o755, data: '#!/bin/sh\necho run\n' },
      link: { link: 'a.txt' },
      'image.bin': Buffer.from([0, 1, 2, 255]),
    })
    const bare = `${root}-origin.git`
    await addOrigin(root, bare)
    const bench = await workbench(root, fresh('bench'))
    const added: Record<string, FileChange> = {}
    for (let i = 0; i < 100; i++) added[`added/file ${i} ü.txt`] = content(i)
    await bench.change({
      ...added,
      'crlf.txt': 'one\r\ntwo\r\n',
      'no newline.txt': 'no newline at the end',
      // (Not UTF-8 bytes: the workbench reads its patches as text. The unit tests read such bytes back.)
      'utf8.txt': 'café ü\n',
      'tool.sh': { mode: 0o755, data: '#!/bin/sh\necho tool\n' },
      'empty.txt': '',
      'new link': { link: 'a.txt' },
      'new.bin': Buffer.from([0, 0, 7, 0]),
      'a.txt': 'one\nTWO\nthree\n',
      'new name.txt': { from: 'old name.txt' },
      'gone.txt': null,
      'run.sh': { mode: 0o644 },
      'image.bin': Buffer.from([9, 9]),
    })
    const base = await bench.capture()
    // The symlink becomes a file, and more files come.
    await bench.change({ link: null })
    const more: Record<string, FileChange> = { link: 'a file now\n' }
    for (let i = 0; i < 80; i++) more[`more/f${i}.txt`] = content(i + 500)
    await bench.change(more)
    const changes = await bench.capture()
    const tree = await bench.snapshot()
    await makeSession('kinds', root, { 'base.patch': base, 'changes.patch': changes })

    await ok(['push', 'kinds'], root)
    assert.equal(await git(bare, 'rev-parse', 'kinds^{tree}'), tree)
    await git(root, 'fsck', '--no-dangling', '--no-progress')
    // Folded in scratch for the diff: every file, none lost between the pack and git apply.
    const { stdout } = await ok(['diff', 'kinds', '--stat'], root)
    assert.match(stdout, /^Session: 194 files changed, /)
    assert.ok(stdout.includes('  A more/f79.txt  +30'))
    assert.ok(stdout.includes('  A added/file 99 ü.txt  +30'))
  })
})

const skip = await dockerSkip()

describe('the review after a run that added thousands of files', { skip }, () => {
  test('"View the diff" shows it through the pager and comes back to the menu', async () => {
    const root = await makeRepo(fresh('review'))
    // 3,000 files of 60 lines: 180,000 diff lines, well past where the diff used to overflow the stack.
    const agent = 'for i in $(seq 3000); do mkdir -p "d$((i / 100))"; seq "$i" "$((i + 59))" > "d$((i / 100))/f$i.txt"; done'
    const env = { ...realmEnv(home), TERM: 'xterm', PAGER: 'head -c 100000' }
    const run = await onTerminal([REALM_BIN, 'new', 'review', agent], {
      cwd: root,
      env,
      prompt: 'What now',
      keys: ['\x1b[B\r', '\r'], // ↓ Enter: View the diff; then Enter: keep
      timeout: 180_000,
    })
    assert.equal(run.exitCode, 0, run.seen.slice(-3000))
    assert.match(run.seen, /This run: 3000 files changed, \+180000 -0/)
    assert.match(run.seen, /\+\+\+ b\/d0\/f1\.txt/, 'the diff was shown')
    assert.doesNotMatch(run.seen, /RangeError|Maximum call stack/)
    assert.match(run.seen, /realm: kept/, 'the menu came back after the pager quit')
  })
})
