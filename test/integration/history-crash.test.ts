// kill -9 at any point of `undo`, `undo --restore` and `fork` leaves the state before or the state after, never a
// mix: the real bin is killed after a delay that sweeps the whole command (its git work in scratch, the staging of
// the new files, the READY marker, the renames, the lock's release), and what is left is checked the way the next
// command finds it (after it finishes or drops the transaction, as every lock holder does first).
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

import { execa } from 'execa'

import { lockedHistory } from '../../lib/session/run-history.ts'
import { checkPatches, loadSession } from '../../lib/session/store.ts'
import { recoverTransaction } from '../../lib/session/transaction.ts'
import { useRealmHome } from '../helpers/fixture.js'
import { historySession } from '../helpers/history.js'
import { REALM_BIN } from '../helpers/realm.js'
import { type FileChange, makeRepo } from '../helpers/repo.js'
import { sessionTree } from '../helpers/session.js'
import { treeAfterRuns } from '../helpers/workbench.js'

const { home, fresh } = await useRealmHome()

const RUNS: Array<Record<string, FileChange>> = [
  { 'one.txt': '1\n', 'a.txt': 'A\n' },
  { 'two.txt': '2\n' },
  { 'three.txt': '3\n', 'b.txt': null },
  { 'four.txt': '4\n' },
]

const treeOf = (root: string, runs: Array<Record<string, FileChange>>) => treeAfterRuns(root, fresh('expected'), runs)

/** How long the command takes when nothing kills it, to spread the kills over. */
async function timed(args: string[], cwd: string): Promise<number> {
  const start = performance.now()
  await execa(REALM_BIN, args, { cwd, env: { NO_COLOR: '1' } })
  return performance.now() - start
}

/** Starts `realm args` and kills it with SIGKILL after `ms`; true when it was still running then. */
async function killedAfter(args: string[], cwd: string, ms: number): Promise<boolean> {
  const child = execa(REALM_BIN, args, { cwd, env: { NO_COLOR: '1' }, reject: false })
  await new Promise((resolve) => setTimeout(resolve, ms))
  const killed = child.kill('SIGKILL')
  await child
  return killed && child.exitCode === null
}

/**
 * Kill delays that sweep a command of about `total` ms: finer near its end (where its files are written), then
 * longer until one run is no longer killed, so a machine slower than the first timing still reaches the end.
 */
function* delays(total: number, count: number): Generator<number> {
  for (let i = 1; i <= count; i++) yield Math.round(total * Math.sqrt(i / count))
  for (let ms = total * 1.2; ms < total * 20; ms *= 1.3) yield Math.round(ms)
}

test('kill -9 during undo or undo --restore: the state before or after, never a mix', async (t) => {
  const root = await makeRepo(fresh('project'), { 'a.txt': 'a\n', 'b.txt': 'b\n' })
  await historySession('crash', root, fresh('bench'), RUNS)
  const full = await treeOf(root, RUNS)
  const without2 = await treeOf(root, [RUNS[0], RUNS[2], RUNS[3]])
  const total = await timed(['undo', 'crash', '2'], root)
  await timed(['undo', 'crash', '--restore', '2'], root)
  const seen = { before: 0, after: 0, killed: 0 }
  let finished = 0
  for (const ms of delays(total, 14)) {
    if (ms > total && finished >= 2) break
    for (const restore of [false, true]) {
      const args = restore ? ['undo', 'crash', '--restore', '2'] : ['undo', 'crash', '2']
      const killed = await killedAfter(args, root, ms)
      if (killed) seen.killed++
      else finished++
      const session = await loadSession('crash')
      await recoverTransaction(session.dir) // what the next lock holder does first
      await checkPatches(await loadSession('crash'))
      const undone = (await lockedHistory(session)).history.runs.find((r) => r.number === 2)?.undone === true
      const tree = await sessionTree(home, 'crash', root)
      assert.deepEqual(
        tree,
        undone ? without2 : full,
        `killed after ${ms} ms (${restore ? 'restore' : 'undo'}): the tree matches the history`,
      )
      const whole = await fs.readFile(path.join(session.dir, 'session.patch'), 'utf8')
      const base = await fs.readFile(path.join(session.dir, 'base.patch'), 'utf8').catch(() => '')
      assert.ok(whole.includes('two.txt') === !undone && base.includes('two.txt') === !undone, 'session.patch and base.patch agree with it')
      if (undone === restore) seen.before++
      else seen.after++
      // Put the session back in the state the next iteration starts from.
      await fs.rm(path.join(session.dir, 'lock'), { force: true })
      if (undone) await execa(REALM_BIN, ['undo', 'crash', '--restore', '2'], { cwd: root })
    }
  }
  t.diagnostic(`undo/restore killed over ${Math.round(total)} ms: ${JSON.stringify(seen)}`)
  assert.ok(seen.killed > 5, `kills that hit a running command: ${JSON.stringify(seen)}`)
  assert.ok(seen.before > 0 && seen.after > 0, `both outcomes were reached: ${JSON.stringify(seen)}`)
})

test('kill -9 during fork: no new session, or the whole of it; what a killed fork left is never listed and is cleaned up', async (t) => {
  const root = await makeRepo(fresh('project'), { 'a.txt': 'a\n', 'b.txt': 'b\n' })
  const { session } = await historySession('origin', root, fresh('bench'), RUNS)
  await fs.mkdir(path.join(session.dir, 'claude-history', 'projects', 'w'), { recursive: true })
  await fs.writeFile(path.join(session.dir, 'claude-history', 'projects', 'w', 'talk.jsonl'), '{}\n')
  const atTwo = await treeOf(root, RUNS.slice(0, 2))
  const total = await timed(['fork', 'origin', 'timing', '--at', '2'], root)
  const seen = { none: 0, whole: 0, killed: 0 }
  let i = 0
  for (const ms of delays(total, 14)) {
    if (ms > total && seen.whole > 0) break
    const name = `fork-${++i}`
    if (await killedAfter(['fork', 'origin', name, '--at', '2'], root, ms)) seen.killed++
    await fs.rm(path.join(session.dir, 'lock'), { force: true })
    const made = await fs.stat(path.join(home, 'sessions', name)).catch(() => undefined)
    if (!made) {
      seen.none++
      continue
    }
    seen.whole++
    await checkPatches(await loadSession(name))
    assert.deepEqual(await sessionTree(home, name, root), atTwo, `killed after ${ms} ms: the fork is whole`)
    assert.equal((await lockedHistory(await loadSession(name))).history.runs.length, 2)
    await fs.access(path.join(home, 'sessions', name, 'claude-history', 'projects', 'w', 'talk.jsonl'))
  }
  t.diagnostic(`fork killed over ${Math.round(total)} ms: ${JSON.stringify(seen)}`)
  assert.ok(seen.none > 0 && seen.whole > 0, `both outcomes were reached: ${JSON.stringify(seen)}`)
  const listed = JSON.parse((await execa(REALM_BIN, ['list', '--json'], { cwd: root })).stdout) as Array<{ name: string }>
  assert.ok(
    listed.every((s) => !s.name.startsWith('.')),
    'a fork being made is never listed',
  )
  // The next fork removes what killed ones left.
  await execa(REALM_BIN, ['fork', 'origin', 'last'], { cwd: root })
  assert.deepEqual(
    (await fs.readdir(path.join(home, 'sessions'))).filter((n) => n.startsWith('.')),
    [],
  )
})
