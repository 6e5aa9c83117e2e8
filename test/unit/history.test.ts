// The pure logic of a session's history: records and their numbering, what an older realm's session can tell,
// the planning (and refusals) of undo, undo --restore and fork, the log's lines and git's apply errors read.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  type History,
  historyText,
  legacyHistory,
  nextRunNumber,
  parseHistory,
  promptLine,
  type RunRecord,
} from '../../lib/session/history.ts'
import { HistoryRefused, parseRunNumber, planFork, planRestore, planUndo } from '../../lib/session/history-plan.ts'
import { duration, logLines } from '../../lib/session/log-lines.ts'
import { pathsInApplyErrors } from '../../lib/session/rebuild.ts'

const run = (number: number, extra: Partial<RunRecord> = {}): RunRecord => ({ number, files: 1, added: 2, removed: 1, ...extra })
const history = (...runs: RunRecord[]): History => ({ runs })
const numbers = (runs: RunRecord[]) => runs.map((r) => r.number)

test('runs.json round-trips, and a damaged one is refused rather than guessed at', () => {
  const h: History = {
    runs: [run(1, { args: ['-p', 'fix it\nplease'], exitCode: 0 }), run(3, { undone: true })],
    forkedFrom: { session: 'a', run: 2 },
  }
  assert.deepEqual(parseHistory(historyText(h)), h)
  for (const bad of [
    '',
    '{',
    '{"version":2,"runs":[]}',
    '{"version":1,"runs":[{"number":0,"files":0,"added":0,"removed":0}]}',
    '{"version":1,"runs":[{"number":1,"files":-1,"added":0,"removed":0}]}',
    '{"version":1,"runs":[{"number":2,"files":0,"added":0,"removed":0},{"number":1,"files":0,"added":0,"removed":0}]}',
    '{"version":1,"runs":[{"number":1,"files":0,"added":0,"removed":0,"args":[1]}]}',
  ])
    assert.equal(parseHistory(bad), undefined, bad)
})

test('a run number is never reused, also after an undo', () => {
  assert.equal(nextRunNumber(history()), 1)
  assert.equal(nextRunNumber(history(run(1), run(2, { undone: true }))), 3)
})

test("an older realm's session: its earlier runs as one record, then its latest; nothing else is claimed", () => {
  const totals = { files: 2, added: 3, removed: 0 }
  assert.deepEqual(legacyHistory({ createdAt: 'c', resumedAt: 'r', earlier: totals, latest: totals }).runs, [
    { number: 1, startedAt: 'c', legacy: 'earlier', ...totals },
    { number: 2, startedAt: 'r', legacy: 'latest', ...totals },
  ])
  assert.deepEqual(legacyHistory({ createdAt: 'c' }).runs, [
    { number: 1, startedAt: 'c', legacy: 'latest', files: 0, added: 0, removed: 0 },
  ])
})

test('the prompt shown is the first line of the agent arguments, the whole kept elsewhere', () => {
  assert.equal(promptLine(run(1, { args: ['-p', 'make the tests pass\nthen refactor'] })), '-p make the tests pass …')
  assert.equal(promptLine(run(1, { args: ['x'.repeat(100)] }), 20), `${'x'.repeat(19)}…`)
  assert.equal(promptLine(run(1, { shell: true, args: [] })), '(shell)')
  assert.equal(promptLine(run(1, { legacy: 'earlier' })), '(earlier runs, kept together by an older realm)')
})

test('undo: the newest kept run by default, a given one otherwise; later runs stay in order', () => {
  const h = history(run(1), run(2), run(3, { undone: true }), run(4))
  const newest = planUndo('s', h)
  assert.equal(newest.run, 4)
  assert.deepEqual(numbers(newest.kept), [1, 2])
  const middle = planUndo('s', h, 2)
  assert.deepEqual(numbers(middle.kept), [1, 4])
  assert.equal(middle.history.runs.find((r) => r.number === 2)?.undone, true)
  assert.equal(h.runs[1].undone, undefined, 'the plan leaves the history it was given alone')
})

test('undo refuses: a run that does not exist, one already undone, the only run', () => {
  const h = history(run(1), run(2, { undone: true }), run(3))
  assert.throws(() => planUndo('s', h, 7), { message: "session 's' has no run 7 — 'realm log s' lists its runs" })
  assert.throws(() => planUndo('s', h, 2), /run 2 of 's' is already undone — bring it back with 'realm undo s --restore 2'/)
  assert.throws(() => planUndo('s', history(run(1), run(2, { undone: true })), 1), /run 1 is the only run of 's'/)
  assert.throws(() => planUndo('s', history(run(1))), HistoryRefused)
})

test('undo --restore puts the run back in its place; only an undone run can be restored', () => {
  const h = history(run(1), run(2, { undone: true }), run(3))
  const plan = planRestore('s', h, 2)
  assert.deepEqual(numbers(plan.kept), [1, 2, 3])
  assert.equal('undone' in (plan.history.runs[1] as object), false)
  assert.throws(() => planRestore('s', h, 3), /run 3 of 's' is not undone/)
  assert.throws(() => planRestore('s', h, 9), /has no run 9/)
})

test('fork: the runs up to N (undone ones among them too), never an undone N', () => {
  const h = history(run(1), run(2, { undone: true }), run(3), run(4))
  const at3 = planFork('s', h, 3)
  assert.deepEqual(numbers(at3.history.runs), [1, 2, 3])
  assert.deepEqual(numbers(at3.kept), [1, 3])
  assert.deepEqual(at3.history.forkedFrom, { session: 's', run: 3 })
  assert.deepEqual(numbers(planFork('s', h).kept), [1, 3, 4])
  assert.deepEqual(planFork('s', h).history.forkedFrom, { session: 's', run: 4 })
  assert.throws(() => planFork('s', h, 2), /run 2 of 's' is undone/)
  assert.throws(() => planFork('s', h, 5), /has no run 5/)
})

test('run numbers on the command line', () => {
  assert.equal(parseRunNumber(undefined, '--at'), undefined)
  assert.equal(parseRunNumber(3, '--at'), 3)
  assert.equal(parseRunNumber('12', '--at'), 12)
  for (const bad of ['0', '-1', '1.5', 'x', '', '01']) assert.throws(() => parseRunNumber(bad, '--at'), /--at must be a run number/)
})

test('log: one line per run, newest last, with its marks', () => {
  const lines = logLines(
    history(
      run(1, { startedAt: '2026-01-02T03:04:05.000Z', endedAt: '2026-01-02T03:06:10.000Z', exitCode: 0, args: ['-p', 'fix'] }),
      run(2, { undone: true, exitCode: 1, files: 0 }),
      run(3, { recovered: 'snapshot', files: 3, added: 10, removed: 0 }),
    ),
  )
  assert.deepEqual(lines, [
    'RUN  STARTED (UTC)     TOOK   EXIT  CHANGES            PROMPT',
    '1    2026-01-02 03:04  2m05s  0     +2 -1 in 1 file    -p fix',
    '2    ?                 ?      1     no changes         [undone]',
    '3    ?                 ?      ?     +10 -0 in 3 files  [interrupted, recovered from its last snapshot]',
  ])
  assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T01:02:03Z'), '1h02m')
  assert.equal(duration('2026-01-01T00:00:00Z', undefined), '?')
})

test("git's messages about a patch that does not apply, read for the files they name", () => {
  const output = [
    'error: patch failed: src/a.ts:12',
    'error: src/a.ts: patch does not apply',
    'error: docs/new file.md: already exists in index',
    'error: gone.txt: does not exist in index',
    'warning: something else',
  ].join('\n')
  assert.deepEqual(pathsInApplyErrors(output), ['src/a.ts', 'docs/new file.md', 'gone.txt'])
})
