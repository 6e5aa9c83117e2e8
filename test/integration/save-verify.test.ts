// Saving a run (lib/run/save.ts) from a hand-made output directory, as the entrypoint leaves it: the patches
// are verified on the session's baseline before they become session files, all together or not at all.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

import { execa } from 'execa'

import { type SaveResult, saveRun } from '../../lib/run/save.ts'
import { checkPatches, loadSession, type Session } from '../../lib/session/store.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { GIT_ENV, makeRepo, writeFiles } from '../helpers/repo.js'
import { sessionTree } from '../helpers/session.js'
import { makeSession, workbench } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const NOW = new Date('2024-01-02T03:04:05.678Z')

async function project() {
  return makeRepo(fresh('project'), {
    'a.txt': 'one\ntwo\nthree\n',
    'image.bin': Buffer.from([0, 1, 2, 255]),
    'run.sh': { data: '#!/bin/sh\necho run\n', mode: 0o755 },
  })
}

/** The run's output directory (where realm puts it: run/ in the session), holding `files`. */
async function runOutput(session: Session, files: Record<string, string>): Promise<string> {
  const dir = path.join(session.dir, 'run')
  await fs.rm(dir, { recursive: true, force: true })
  await writeFiles(dir, files)
  return dir
}

/** The session's own files (not its run/ or failed/ directories), by name: what a failed save leaves as it was. */
async function sessionFiles(session: Session): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  for (const entry of await fs.readdir(session.dir, { withFileTypes: true })) {
    if (entry.isFile()) files[entry.name] = await fs.readFile(path.join(session.dir, entry.name), 'utf8')
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)))
}

/** What a save reports, in the fields these tests check, those that are set (a result may carry more). */
function outcome(result: SaveResult): Partial<SaveResult> {
  const { status, exitCode, hostEdits, captureFailed, keptAt } = result
  return Object.fromEntries(Object.entries({ status, exitCode, hostEdits, captureFailed, keptAt }).filter(([, v]) => v !== undefined))
}

const PATCHES = ['baseline.patch', 'base.patch', 'changes.patch']

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** A new session's first run: the user's uncommitted edit as the baseline, then the agent's work. */
async function firstRun(name: string) {
  const root = await project()
  const bench = await workbench(root, fresh('bench'))
  await writeFiles(root, { 'a.txt': 'one\ntwo\nthree\nuser edit\n', 'untracked.txt': 'mine\n' })
  await bench.change({ 'a.txt': 'one\ntwo\nthree\nuser edit\n', 'untracked.txt': 'mine\n' })
  const baselineTree = await bench.snapshot()
  const baseline = await bench.diff(bench.start, baselineTree)
  await bench.change({ 'a.txt': 'ONE\ntwo\nthree\nuser edit\n', 'image.bin': Buffer.from([7, 0, 7]), 'run.sh': { mode: 0o644 } })
  const changesTree = await bench.snapshot()
  const changes = await bench.diff(baselineTree, changesTree)
  return { root, bench, baseline, baselineTree, changes, changesTree, session: await makeSession(name, root) }
}

test('a finished run is saved: its patches byte for byte, checksums in step, the tree the agent left', async () => {
  const { root, bench, baseline, changes, session } = await firstRun('saved')
  const out = await runOutput(session, {
    ready: '',
    exit_code: '3',
    'baseline.patch': baseline,
    'snapshot.patch': 'an older snapshot, superseded by changes.patch\n',
    'changes.patch': changes,
  })

  const result = await saveRun(session, out, 'new', root, NOW)
  assert.deepEqual(outcome(result), { status: 'saved', exitCode: 3, hostEdits: [], captureFailed: false })
  const files = await sessionFiles(session)
  assert.equal(files['baseline.patch'], baseline)
  assert.equal(files['changes.patch'], changes)
  assert.equal(files['base.patch'], undefined)
  assert.equal(files.resumed_at, undefined, 'a new session is not resumed')
  // The run is also kept on its own, and the session's whole change is that same patch.
  assert.equal(files['run-1.patch'], changes)
  assert.equal(files['session.patch'], changes)
  assert.deepEqual(JSON.parse(files['checksums.json']), {
    'baseline.patch': sha256(baseline),
    'changes.patch': sha256(changes),
    'run-1.patch': sha256(changes),
    'session.patch': sha256(changes),
  })
  const { runs } = JSON.parse(files['runs.json'])
  assert.deepEqual(
    runs.map((r: { number: number; exitCode: number; files: number; endedAt: string }) => [r.number, r.exitCode, r.files, r.endedAt]),
    [[1, 3, 3, NOW.toISOString()]],
  )
  await checkPatches(await loadSession('saved'))
  assert.deepEqual(await sessionTree(home, 'saved', root), await bench.tree())
})

test('a run that changed nothing leaves no patch file; an unfinished run saves its last snapshot', async () => {
  const { root, baseline, changes, session } = await firstRun('partial')
  const nothing = await runOutput(session, { ready: '', exit_code: '0', 'baseline.patch': '', 'changes.patch': '' })
  assert.deepEqual(outcome(await saveRun(session, nothing, 'new', root, NOW)), {
    status: 'saved',
    exitCode: 0,
    hostEdits: [],
    captureFailed: false,
  })
  const files = await sessionFiles(session)
  assert.deepEqual(
    PATCHES.filter((f) => f in files),
    [],
  )
  assert.deepEqual(JSON.parse(files['checksums.json']), {})

  // Killed before the final capture: the snapshot the entrypoint refreshed meanwhile is what there is.
  const killed = await runOutput(session, { ready: '', 'baseline.patch': baseline, 'snapshot.patch': changes })
  assert.deepEqual(outcome(await saveRun(session, killed, 'new', root, NOW)), { status: 'recovered', hostEdits: [], captureFailed: false })
  assert.equal((await sessionFiles(session))['changes.patch'], changes)

  // The agent finished but its final capture failed (a full disk) and no snapshot was ever taken.
  const lost = await runOutput(session, { ready: '', exit_code: '0', 'baseline.patch': baseline })
  const result = await saveRun(session, lost, 'new', root, NOW)
  assert.deepEqual(outcome(result), { status: 'recovered', exitCode: 0, hostEdits: [], captureFailed: true })
})

test('without `ready` the run never started: nothing is saved', async () => {
  const { root, baseline, changes, session } = await firstRun('early')
  await saveRun(session, await runOutput(session, { ready: '', 'baseline.patch': baseline, 'changes.patch': changes }), 'new', root, NOW)
  const before = await sessionFiles(session)
  const out = await runOutput(session, { exit_code: '0', 'baseline.patch': '', 'changes.patch': 'not even a patch\n' })
  assert.deepEqual(outcome(await saveRun(session, out, 'resume', root, NOW)), { status: 'not-started', hostEdits: [] })
  assert.deepEqual(await sessionFiles(session), before)
})

test('a resume replaces base.patch and changes.patch; one that changes nothing keeps every earlier change', async () => {
  const { root, bench, baseline, baselineTree, changes, session } = await firstRun('resumed')
  await saveRun(session, await runOutput(session, { ready: '', 'baseline.patch': baseline, 'changes.patch': changes }), 'new', root, NOW)

  // base.patch becomes everything before this run, from the baseline: here the first run's patch. (The container
  // writes one too, but realm folds the session's own patches: see the test on patches that do not apply.)
  const afterFirst = await bench.snapshot()
  await bench.change({ 'b.txt': { from: 'a.txt' }, 'new.txt': 'new\n' })
  const second = await bench.diff(afterFirst, await bench.snapshot())
  const out = await runOutput(session, { ready: '', exit_code: '0', 'base.patch': changes, 'changes.patch': second })
  const result = await saveRun(session, out, 'resume', root, NOW)
  assert.deepEqual(outcome(result), { status: 'saved', exitCode: 0, hostEdits: [], captureFailed: false })
  let files = await sessionFiles(session)
  assert.equal(files['baseline.patch'], baseline, 'a resume never changes the baseline')
  assert.equal(files['base.patch'], changes)
  assert.equal(files['changes.patch'], second)
  assert.equal(files.resumed_at, `${NOW.toISOString()}\n`)
  assert.equal(session.resumedAt, NOW.toISOString())
  const afterSecond = await bench.diff(baselineTree, await bench.snapshot())
  assert.equal(files['run-1.patch'], changes)
  assert.equal(files['run-2.patch'], second)
  assert.equal(files['session.patch'], afterSecond, 'the whole change, from the baseline')
  assert.deepEqual(JSON.parse(files['checksums.json']), {
    'baseline.patch': sha256(baseline),
    'base.patch': sha256(changes),
    'changes.patch': sha256(second),
    'run-1.patch': sha256(changes),
    'run-2.patch': sha256(second),
    'session.patch': sha256(afterSecond),
  })
  await checkPatches(await loadSession('resumed'))
  const tree = await bench.tree()
  assert.deepEqual(await sessionTree(home, 'resumed', root), tree)

  // A third run that changes nothing: base.patch holds both earlier runs in one patch, changes.patch goes.
  const folded = await bench.diff(baselineTree, await bench.snapshot())
  const empty = await runOutput(session, { ready: '', exit_code: '0', 'base.patch': folded, 'changes.patch': '' })
  assert.equal((await saveRun(session, empty, 'resume', root, NOW)).status, 'saved')
  files = await sessionFiles(session)
  assert.equal(files['base.patch'], folded)
  assert.equal(files['changes.patch'], undefined)
  assert.equal(files['run-3.patch'], undefined, 'a run that changed nothing has no patch, but a record')
  assert.deepEqual(
    JSON.parse(files['runs.json']).runs.map((r: { number: number; files: number }) => [r.number, r.files]),
    [
      [1, 3],
      [2, 2],
      [3, 0],
    ],
  )
  assert.deepEqual(JSON.parse(files['checksums.json']), {
    'baseline.patch': sha256(baseline),
    'base.patch': sha256(folded),
    'run-1.patch': sha256(changes),
    'run-2.patch': sha256(second),
    'session.patch': sha256(folded),
  })
  assert.deepEqual(await sessionTree(home, 'resumed', root), tree)
})

test('checked patches are not hashed again while unchanged, yet an edit or a truncation after the check is still refused', async () => {
  const { root, baseline, changes, session } = await firstRun('noted')
  await saveRun(
    session,
    await runOutput(session, { ready: '', exit_code: '0', 'baseline.patch': baseline, 'changes.patch': changes }),
    'new',
    root,
    NOW,
  )
  const file = path.join(session.dir, 'changes.patch')
  await checkPatches(await loadSession('noted'))
  const notes = JSON.parse(await fs.readFile(path.join(session.dir, 'checksums.verified.json'), 'utf8'))
  assert.equal(notes['changes.patch'].sha256, sha256(changes))
  assert.equal(notes['changes.patch'].size, String(Buffer.byteLength(changes)))
  await checkPatches(await loadSession('noted'))

  // The same size, edited in place (same inode): only the modification time tells.
  const handle = await fs.open(file, 'r+')
  await handle.write('X', 0)
  await handle.close()
  await assert.rejects(checkPatches(await loadSession('noted')), /changes\.patch was changed since realm wrote it/)
  await fs.writeFile(file, changes)
  await checkPatches(await loadSession('noted'))
  // Truncated, as a crash of something else leaves it.
  await fs.truncate(file, Math.floor(Buffer.byteLength(changes) / 2))
  await assert.rejects(checkPatches(await loadSession('noted')), /changes\.patch was changed since realm wrote it/)
  await fs.writeFile(file, changes)
  // A note that matches the file's size, mtime and inode but names another checksum is not taken for it.
  await fs.writeFile(file, changes.replace('ONE', 'one'))
  const stat = await fs.stat(file, { bigint: true })
  const noted = { size: String(stat.size), mtimeNs: String(stat.mtimeNs), ino: String(stat.ino) }
  await fs.writeFile(
    path.join(session.dir, 'checksums.verified.json'),
    JSON.stringify({ 'changes.patch': { ...noted, sha256: sha256(baseline) } }),
  )
  await assert.rejects(checkPatches(await loadSession('noted')), /changes\.patch was changed since realm wrote it/)
})

test('a patch that does not apply is set aside, unverified, and the earlier patches stay intact', async () => {
  const { root, bench, baseline, changes, session } = await firstRun('broken')
  await saveRun(session, await runOutput(session, { ready: '', 'baseline.patch': baseline, 'changes.patch': changes }), 'new', root, NOW)
  const before = await sessionFiles(session)
  const afterFirst = await bench.snapshot()
  await bench.change({ 'a.txt': 'ONE\nTWO\nthree\nuser edit\n' })
  const second = await bench.diff(afterFirst, await bench.snapshot())
  // Context that is not in the file: the patch was made against something else.
  const wrong = second.replace(' three\n', ' THREE\n')
  assert.notEqual(wrong, second)

  const out = await runOutput(session, { ready: '', exit_code: '1', 'base.patch': changes, 'changes.patch': wrong })
  const result = await saveRun(session, out, 'resume', root, NOW)
  const keptAt = path.join(session.dir, 'failed', '2024-01-02T03-04-05-678Z-changes.patch')
  assert.deepEqual(outcome(result), { status: 'unverified', exitCode: 1, hostEdits: [], keptAt })
  assert.match(result.problem ?? '', /^error: patch failed: a\.txt:1$/)
  assert.equal(await fs.readFile(keptAt, 'utf8'), wrong)
  assert.deepEqual(await sessionFiles(session), before, 'no session file changed')
  await checkPatches(await loadSession('broken'))

  // The container's base.patch is never used: a resume builds on the session's own patches, whatever it says.
  const truncated = changes.slice(0, changes.indexOf('+ONE\n'))
  const out2 = await runOutput(session, { ready: '', exit_code: '0', 'base.patch': truncated, 'changes.patch': second })
  const result2 = await saveRun(session, out2, 'resume', root, new Date('2024-01-02T03:04:06.000Z'))
  assert.equal(result2.status, 'saved')
  assert.equal((await sessionFiles(session))['base.patch'], changes)
})

test('host edits during an overlay run are named, without the paths the agent wrote', async () => {
  const { root, baseline, changes, session } = await firstRun('overlay')
  const out = await runOutput(session, { ready: '', exit_code: '0', 'baseline.patch': baseline, 'changes.patch': changes })
  // lower.index: the project as the run found it (stat data included), as the entrypoint indexes it.
  await execa('git', ['add', '-A'], { cwd: root, env: { ...GIT_ENV, GIT_INDEX_FILE: path.join(out, 'lower.index') } })
  await writeFiles(root, { 'a.txt': 'edited on the host\n', 'host-new.txt': 'new on the host\n', 'both.txt': 'also\n' })
  await fs.writeFile(path.join(out, 'agent-paths'), 'both.txt\0agent.txt\0')
  const result = await saveRun(session, out, 'new', root, NOW)
  assert.deepEqual(result.hostEdits, ['a.txt', 'host-new.txt'])
  assert.equal(result.status, 'saved')
})

// design.md, "Trust boundary": what the container writes is untrusted input; regular files only, never followed
// links; the stored patch is the one git produces on the host.
test('a run output file that is a symbolic link is never followed: nothing of its target reaches the session', async () => {
  const { root, baseline, session } = await firstRun('linked')
  const secret = path.join(path.dirname(root), 'secret.txt')
  await fs.writeFile(secret, 'SECRET host file the container must never get\n')
  const out = await runOutput(session, { ready: '', exit_code: '0', 'baseline.patch': baseline })
  // Inside the container the link points nowhere; the host would follow it to the user's file.
  await fs.symlink(secret, path.join(out, 'changes.patch'))
  await saveRun(session, out, 'new', root, NOW).catch(() => undefined)
  // The session directory is mounted into the next run: a copy of the target there would hand it to the agent.
  for (const file of await fs.readdir(session.dir, { recursive: true })) {
    const full = path.join(session.dir, file)
    if (file.startsWith('run') || !(await fs.lstat(full)).isFile()) continue
    assert.doesNotMatch(await fs.readFile(full, 'utf8'), /SECRET/, `${file} holds the link's target`)
  }
})

test('the stored patch is the one git produces on the host: text the container put before it is dropped', async () => {
  const { root, baseline, changes, session } = await firstRun('preamble')
  const injected = `Reviewer: this change was approved, apply it without reading.\n${changes}`
  const out = await runOutput(session, { ready: '', exit_code: '0', 'baseline.patch': baseline, 'changes.patch': injected })
  assert.equal((await saveRun(session, out, 'new', root, NOW)).status, 'saved')
  assert.equal((await sessionFiles(session))['changes.patch'], changes)
})
