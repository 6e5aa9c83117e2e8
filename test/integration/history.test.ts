// A session's history through the real bin (log, diff --run, undo, undo --restore, fork need no Docker), on
// sessions whose runs realm's own save stored, checked against trees real git makes independently.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { lockedHistory } from '../../lib/session/run-history.ts'
import { checkPatches, loadSession } from '../../lib/session/store.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { historySession, realmCli, sessionFileBytes } from '../helpers/history.js'
import { type FileChange, makeRepo } from '../helpers/repo.js'
import { sessionTree } from '../helpers/session.js'
import { agentSession, treeAfterRuns } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const PROJECT = { 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' }

/** Four runs on separate files: any of them can be undone alone. */
const RUNS: Array<Record<string, FileChange>> = [
  { 'one.txt': '1\n' },
  { 'a.txt': 'A changed by run 2\n' },
  { 'three.txt': '3\n', 'b.txt': null },
  { 'four.txt': '4\n' },
]

const treeOf = (root: string, runs: Array<Record<string, FileChange>>) => treeAfterRuns(root, fresh('expected'), runs)

async function fourRuns(name: string) {
  const root = await makeRepo(fresh('project'), PROJECT)
  return { root, ...(await historySession(name, root, fresh('bench'), RUNS)) }
}

const ok = async (args: string[], cwd: string) => {
  const result = await realmCli(args, cwd)
  assert.equal(result.code, 0, `realm ${args.join(' ')}: ${result.stderr}`)
  return result
}

/** A one-line refusal with exit 1, the session's files as they were. */
async function refused(args: string[], cwd: string, dir: string, message: RegExp) {
  const before = await sessionFileBytes(dir)
  const result = await realmCli(args, cwd)
  assert.equal(result.code, 1, `realm ${args.join(' ')}: ${result.stdout}${result.stderr}`)
  assert.match(result.stderr, message)
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
  assert.deepEqual(await sessionFileBytes(dir), before, 'nothing changed')
}

test('every run is kept: log lists them, diff --run shows one alone, and the whole change is stored', async () => {
  const { root, session, bench, patches } = await fourRuns('kept')
  const log = await ok(['log', 'kept'], root)
  const lines = log.stdout.trimEnd().split('\n')
  assert.equal(lines.length, 5, log.stdout)
  assert.match(lines[0], /^RUN\s+STARTED \(UTC\)\s+TOOK\s+EXIT\s+CHANGES\s+PROMPT$/)
  assert.match(lines[1], /^1\s+\? +\S+\s+0\s+\+1 -0 in 1 file/)
  assert.match(lines[3], /^3\s+.*\+1 -1 in 2 files/)
  const json = JSON.parse((await ok(['log', 'kept', '--json'], root)).stdout) as Array<{ number: number; files: number; kept: boolean }>
  assert.deepEqual(
    json.map((r) => [r.number, r.files, r.kept]),
    [
      [1, 1, true],
      [2, 1, true],
      [3, 2, true],
      [4, 1, true],
    ],
  )
  const run2 = await ok(['diff', 'kept', '--run', '2', '--color', 'never'], root)
  assert.match(run2.stdout, /^Run 2: 1 file changed, \+1 -1\n {2}M a\.txt/)
  assert.match(run2.stdout, /\+A changed by run 2/)
  assert.doesNotMatch(run2.stdout, /one\.txt|four\.txt/)
  const stat = await ok(['diff', 'kept', '--run', '3', '--stat'], root)
  assert.equal(stat.stdout, 'Run 3: 2 files changed, +1 -1\n  D b.txt  -1\n  A three.txt  +1\n')
  // Each run's own patch is git's, and the session's whole change is one stored patch from the baseline.
  for (const [i, patch] of patches.entries()) assert.equal(await fs.readFile(path.join(session.dir, `run-${i + 1}.patch`), 'utf8'), patch)
  assert.equal(await fs.readFile(path.join(session.dir, 'session.patch'), 'utf8'), await bench.diff(bench.start, await bench.snapshot()))
  assert.deepEqual(await sessionTree(home, 'kept', root), await bench.tree())
})

test('undo drops a middle run and re-applies the later ones; --restore brings it back; both kept verified', async () => {
  const { root, session, patches } = await fourRuns('undo')
  const undone = await ok(['undo', 'undo', '2'], root)
  assert.match(undone.stderr, /undid run 2 of 'undo'; runs 3, 4 re-applied on top — bring it back with 'realm undo undo --restore 2'/)
  assert.deepEqual(await sessionTree(home, 'undo', root), await treeOf(root, [RUNS[0], RUNS[2], RUNS[3]]))
  await checkPatches(await loadSession('undo'))
  const log = (await ok(['log', 'undo'], root)).stdout
  assert.match(log, /\n2 .*\[undone\]/)
  // The undone run is kept, and shown as it was.
  assert.match((await ok(['diff', 'undo', '--run', '2', '--stat'], root)).stdout, /^Run 2 \(undone\): 1 file changed/)
  assert.match((await ok(['diff', 'undo', '--stat'], root)).stdout, /^Session: 4 files changed/)

  await ok(['undo', 'undo', '--restore', '2'], root)
  assert.deepEqual(await sessionTree(home, 'undo', root), await treeOf(root, RUNS))
  for (const [i, patch] of patches.entries()) assert.equal(await fs.readFile(path.join(session.dir, `run-${i + 1}.patch`), 'utf8'), patch)
  await checkPatches(await loadSession('undo'))

  // Without a number: the newest run; base.patch and changes.patch stay what a plain `git apply` needs.
  await ok(['undo', 'undo'], root)
  assert.deepEqual(await sessionTree(home, 'undo', root), await treeOf(root, RUNS.slice(0, 3)))
  assert.equal(await fs.readFile(path.join(session.dir, 'changes.patch'), 'utf8'), patches[2])
})

test('a later run that no longer applies stops the undo: the run and its files are named, nothing changes', async () => {
  const root = await makeRepo(fresh('project'), PROJECT)
  const { session } = await historySession('clash', root, fresh('bench'), [
    { 'a.txt': 'first\n' },
    { 'a.txt': 'second\n', 'c.txt': 'C\n' },
    { 'z.txt': 'z\n' },
  ])
  await refused(
    ['undo', 'clash', '1'],
    root,
    session.dir,
    /^realm: run 2 of 'clash' no longer applies without run 1 \(a\.txt\): .* — nothing was changed/,
  )
  // Once run 2 is undone too, nothing stands in the way.
  await ok(['undo', 'clash', '2'], root)
  await ok(['undo', 'clash', '1'], root)
  assert.deepEqual(await sessionTree(home, 'clash', root), await treeOf(root, [{ 'z.txt': 'z\n' }]))
})

test('bad input: one line each, exit 1, nothing changed', async () => {
  const { root, session } = await fourRuns('bad')
  const dir = session.dir
  await refused(['undo', 'bad', '9'], root, dir, /^realm: session 'bad' has no run 9 — 'realm log bad' lists its runs\n$/)
  await refused(['undo', 'bad', '--restore', '9'], root, dir, /has no run 9/)
  await refused(['undo', 'bad', '--restore', '2'], root, dir, /^realm: run 2 of 'bad' is not undone/)
  await refused(['diff', 'bad', '--run', '9'], root, dir, /has no run 9/)
  await refused(['diff', 'bad', '--run', 'x'], root, dir, /^realm: --run must be a run number/)
  await refused(['fork', 'bad', 'bad-2', '--at', '9'], root, dir, /has no run 9/)
  await refused(['fork', 'bad', 'kept-elsewhere', '--at', '0'], root, dir, /--at must be a run number/)
  await assert.rejects(fs.access(path.join(home, 'sessions', 'bad-2')))

  const single = await historySession('single', root, fresh('bench'), [{ 'x.txt': 'x\n' }])
  await refused(
    ['undo', 'single'],
    root,
    single.session.dir,
    /^realm: run 1 is the only run of 'single': undoing it would leave nothing — remove the session with 'realm remove single' instead\n$/,
  )

  await refused(
    ['fork', 'bad', 'single'],
    root,
    single.session.dir,
    /^realm: session 'single' already exists — resume it with 'realm resume single' or pick another name\n$/,
  )

  // The session in use: a live process holds its lock (this test's own process stands for it).
  const lock = path.join(dir, 'lock')
  await fs.writeFile(lock, JSON.stringify({ pid: process.pid, command: 'resume', host: os.hostname(), startedAt: 'now' }))
  await refused(
    ['undo', 'bad'],
    root,
    dir,
    /^realm: session 'bad' is in use by 'realm resume' \(pid \d+, since now\) — wait for it to finish\n$/,
  )
  await refused(['fork', 'bad', 'bad-3'], root, dir, /is in use by 'realm resume'/)
  await fs.rm(lock)
})

test('fork makes a new session from the state after run N, with its runs and a copy of the conversation', async () => {
  const { root, session } = await fourRuns('source')
  // The conversation history, as a container left it: a link in it is not followed, nor copied.
  const conversation = path.join(session.dir, 'claude-history', 'projects', '-workspace')
  await fs.mkdir(conversation, { recursive: true })
  await fs.writeFile(path.join(conversation, 'talk.jsonl'), '{"said":"hello"}\n')
  await fs.symlink('/etc/passwd', path.join(conversation, 'link.jsonl'))

  const forked = await ok(['fork', 'source', 'at-two', '--at', '2'], root)
  assert.match(forked.stderr, /forked 'source' after run 2 as 'at-two'/)
  assert.deepEqual(await sessionTree(home, 'at-two', root), await treeOf(root, RUNS.slice(0, 2)))
  await checkPatches(await loadSession('at-two'))
  const copied = path.join(home, 'sessions', 'at-two', 'claude-history', 'projects', '-workspace')
  assert.equal(await fs.readFile(path.join(copied, 'talk.jsonl'), 'utf8'), '{"said":"hello"}\n')
  await assert.rejects(fs.lstat(path.join(copied, 'link.jsonl')))
  const log = await ok(['log', 'at-two'], root)
  assert.equal(log.stdout.trimEnd().split('\n').length, 3)
  assert.match(log.stderr, /'at-two' was forked from 'source' after its run 2/)

  // The whole session by default; each fork then goes its own way.
  await ok(['fork', 'source', 'whole'], root)
  assert.deepEqual(await sessionTree(home, 'whole', root), await treeOf(root, RUNS))
  await ok(['undo', 'whole', '1'], root)
  assert.deepEqual(await sessionTree(home, 'whole', root), await treeOf(root, RUNS.slice(1)))
  assert.deepEqual(await sessionTree(home, 'source', root), await treeOf(root, RUNS), 'the source is untouched')
  const list = JSON.parse((await ok(['list', '--json'], root)).stdout) as Array<{ name: string }>
  assert.deepEqual(
    list.map((s) => s.name).filter((n) => ['at-two', 'source', 'whole'].includes(n) || n.startsWith('.')),
    ['at-two', 'source', 'whole'],
    'nothing of the forks being made is listed',
  )
})

test('a session an older realm made (no history) shows what can be known, and undo and fork work on it', async () => {
  const root = await makeRepo(fresh('project'), PROJECT)
  await agentSession('older', root, fresh('bench'), [{ 'one.txt': '1\n' }, { 'two.txt': '2\n' }, { 'a.txt': 'A\n' }])
  const log = await ok(['log', 'older'], root)
  const lines = log.stdout.trimEnd().split('\n')
  assert.equal(lines.length, 3, log.stdout)
  assert.match(lines[1], /^1 .*\+2 -0 in 2 files\s+\(earlier runs, kept together by an older realm\)$/)
  assert.match(lines[2], /^2 .*\+1 -1 in 1 file\s+\(not recorded by an older realm\)$/)
  assert.match(log.stderr, /made by an older realm/)
  assert.match((await ok(['diff', 'older', '--run', '1', '--stat'], root)).stdout, /^Run 1: 2 files changed/)
  await ok(['fork', 'older', 'older-fork'], root)
  assert.deepEqual(
    await sessionTree(home, 'older-fork', root),
    await treeOf(root, [{ 'one.txt': '1\n' }, { 'two.txt': '2\n' }, { 'a.txt': 'A\n' }]),
  )

  await ok(['undo', 'older'], root)
  assert.deepEqual(await sessionTree(home, 'older', root), await treeOf(root, [{ 'one.txt': '1\n' }, { 'two.txt': '2\n' }]))
  const { history, stored } = await lockedHistory(await loadSession('older'))
  assert.equal(stored, true, 'the session has a history now')
  assert.deepEqual(
    history.runs.map((r) => [r.number, r.legacy, r.undone ?? false]),
    [
      [1, 'earlier', false],
      [2, 'latest', true],
    ],
  )
  await ok(['undo', 'older', '--restore', '2'], root)
  assert.deepEqual(
    await sessionTree(home, 'older', root),
    await treeOf(root, [{ 'one.txt': '1\n' }, { 'two.txt': '2\n' }, { 'a.txt': 'A\n' }]),
  )
  await checkPatches(await loadSession('older'))
})
