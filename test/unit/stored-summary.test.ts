// The summary stored beside each run patch (session/summaries.ts): written with the patch, read back only while
// it describes the patch as it is, and the same summary as reading the patch gives.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'

import { summarizePatch, withLastRunReader, withSessionReader } from '../../lib/session/patches.ts'
import { openSingleRun, readStoredSummary } from '../../lib/session/snapshot.ts'
import { createSession, type Session, updateSession } from '../../lib/session/store.ts'
import { RISK_RULES_VERSION } from '../../lib/patch/risk-rules.ts'

let dir: string
let session: Session
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'realm-unit-'))
  process.env.REALM_HOME = dir
  session = await createSession('s', path.join(dir, 'project'), { version: 1, baseCommit: 'a'.repeat(40), subdir: '', image: 'img' })
})
afterEach(async () => fs.rm(dir, { recursive: true, force: true }))

/** Every kind of section the counting has to get right. */
const PATCH = [
  'diff --git a/a.txt b/a.txt',
  'index 1111111..2222222 100644',
  '--- a/a.txt',
  '+++ b/a.txt',
  '@@ -1,2 +1,2 @@',
  ' one',
  '-two',
  '+TWO',
  '\\ No newline at end of file',
  'diff --git a/new.txt b/new.txt',
  'new file mode 100755',
  'index 0000000..3333333',
  '--- /dev/null',
  '+++ b/new.txt',
  '@@ -0,0 +1,2 @@',
  '+hello',
  '+-- not a header',
  'diff --git a/img.png b/img.png',
  'index 4444444..5555555 100644',
  'GIT binary patch',
  'literal 3',
  'KcmZ?wbo2lK',
  '',
  'literal 0',
  'HcmV?d00001',
  '',
  'diff --git a/run.sh b/run.sh',
  'old mode 100644',
  'new mode 100755',
  'diff --git a/old name.txt b/new name.txt',
  'similarity index 90%',
  'rename from old name.txt',
  'rename to new name.txt',
  'index 6666666..7777777 100644',
  '--- a/old name.txt\t',
  '+++ b/new name.txt\t',
  '@@ -1 +1 @@',
  '-x',
  '+y',
  'diff --git a/gone.txt b/gone.txt',
  'deleted file mode 100644',
  'index 8888888..0000000',
  '--- a/gone.txt',
  '+++ /dev/null',
  '@@ -1,2 +0,0 @@',
  '-a',
  '-b',
  'diff --git a/package.json b/package.json',
  'index 9999999..aaaaaaa 100644',
  '--- a/package.json',
  '+++ b/package.json',
  '@@ -1,3 +1,3 @@',
  ' {',
  '   "scripts": {',
  '-    "test": "a"',
  '+    "test": "b"',
  '',
].join('\n')

const file = (name: string) => path.join(session.dir, name)

test('a saved patch gets a stored summary, the same as reading the patch gives', async () => {
  await updateSession(session, { 'changes.patch': { data: PATCH } })
  const stored = await readStoredSummary(session, file('changes.patch'))
  const computed = await summarizePatch(file('changes.patch'))
  assert.ok(stored, 'a summary is stored')
  assert.deepEqual(JSON.parse(JSON.stringify(stored)), JSON.parse(JSON.stringify(computed)))
  assert.equal(computed.files.length, 7)
  assert.deepEqual(
    computed.flags.map((f) => f.why),
    ['package.json scripts'],
  )
})

test('the readers that hold no lock get it too, for the session and for the latest run', async () => {
  await updateSession(session, { 'changes.patch': { copyFrom: await write('p', PATCH) } })
  const expected = await summarizePatch(file('changes.patch'))
  const seen = await withSessionReader(session, async (reader, stored) => ({ reader: Boolean(reader), stored }))
  assert.deepEqual(seen, { reader: true, stored: JSON.parse(JSON.stringify(expected)) })
  const last = await withLastRunReader(session, async (reader, stored) => ({ reader: Boolean(reader), stored }))
  assert.deepEqual(last, seen)
})

test('a summary that no longer describes its patch is not used', async () => {
  await updateSession(session, { 'changes.patch': { data: PATCH } })
  // Edited by hand (or truncated by a crash): a different size.
  await fs.appendFile(file('changes.patch'), '+more\n')
  assert.equal(await readStoredSummary(session, file('changes.patch')), undefined)
  assert.equal(await withSessionReader(session, async (_reader, stored) => stored), undefined)
})

test('a patch written without its summary (by an older realm) does not match the summary left from before', async () => {
  await updateSession(session, { 'changes.patch': { data: PATCH } })
  const summary = await fs.readFile(file('changes.summary.json'))
  const other = PATCH.replace('+TWO', '+Two')
  await updateSession(session, { 'changes.patch': { data: other } })
  await fs.writeFile(file('changes.summary.json'), summary) // same size as before, another checksum
  assert.equal(await readStoredSummary(session, file('changes.patch')), undefined)
})

test('a summary stored under older risk rules is not trusted for its flags: the patch is flagged afresh', async () => {
  const agentFile = [
    'diff --git a/CLAUDE.md b/CLAUDE.md',
    'new file mode 100644',
    'index 0000000..bbbbbbb',
    '--- /dev/null',
    '+++ b/CLAUDE.md',
    '@@ -0,0 +1 @@',
    '+Always run ./setup.sh first.',
    '',
  ].join('\n')
  await updateSession(session, { 'changes.patch': { data: PATCH + agentFile } })
  const current = JSON.parse(await fs.readFile(file('changes.summary.json'), 'utf8'))
  assert.equal(current.rules, RISK_RULES_VERSION)
  assert.ok(await readStoredSummary(session, file('changes.patch')), "a summary stored under today's rules is used")

  // What an older realm stored for the same patch: no rules version (or an older one), and without the flags its
  // rules did not know.
  const { rules: _, ...older } = current
  older.flags = older.flags.filter((f: { why: string }) => f.why === 'package.json scripts')
  for (const stale of [older, { ...older, rules: RISK_RULES_VERSION - 1 }]) {
    await fs.writeFile(file('changes.summary.json'), JSON.stringify(stale))
    assert.equal(await readStoredSummary(session, file('changes.patch')), undefined, JSON.stringify(stale.rules))
    assert.equal(await withSessionReader(session, async (_reader, stored) => stored), undefined)
  }
  const computed = await summarizePatch(file('changes.patch'))
  assert.deepEqual(
    computed.flags.map((f) => `${f.path} (${f.why})`),
    ['package.json (package.json scripts)', 'CLAUDE.md (agent instructions)'],
  )
})

test('a damaged summary is not used', async () => {
  await updateSession(session, { 'changes.patch': { data: PATCH } })
  const stored = JSON.parse(await fs.readFile(file('changes.summary.json'), 'utf8'))
  for (const damage of [
    '{',
    JSON.stringify({ ...stored, files: [[1]] }),
    JSON.stringify({ ...stored, version: 1 }),
    JSON.stringify({ ...stored, files: [['a', 'added', -1, 0, 0, null, null, null]] }),
  ]) {
    await fs.writeFile(file('changes.summary.json'), damage)
    assert.equal(await readStoredSummary(session, file('changes.patch')), undefined, damage.slice(0, 40))
  }
})

test('a removed patch takes its summary with it; a session of two run patches is not one run', async () => {
  await updateSession(session, { 'changes.patch': { data: PATCH } })
  await updateSession(session, { 'changes.patch': { remove: true } })
  await assert.rejects(fs.access(file('changes.summary.json')))
  assert.equal(await withSessionReader(session, async (reader) => reader), undefined)

  await updateSession(session, { 'base.patch': { data: PATCH }, 'changes.patch': { data: PATCH } })
  assert.equal(await openSingleRun(session, ['base.patch', 'changes.patch']), 'several')
  const last = await openSingleRun(session, ['changes.patch'])
  assert.ok(typeof last === 'object' && last.stored)
  await last.handle.close()
})

async function write(name: string, text: string): Promise<string> {
  const target = path.join(dir, name)
  await fs.writeFile(target, text)
  return target
}
