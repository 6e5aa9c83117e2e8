import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'

import { writeFileAtomic } from '../../lib/common/files.ts'
import { commitFiles, recoverTransaction } from '../../lib/session/transaction.ts'
import { acquireLock } from '../../lib/session/lock.ts'
import { createSession, loadSession } from '../../lib/session/store.ts'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'realm-unit-'))
  process.env.REALM_HOME = dir
})
afterEach(async () => fs.rm(dir, { recursive: true, force: true }))

const META = { version: 1 as const, baseCommit: 'a'.repeat(40), subdir: '', image: 'img' }

test('atomic write leaves no temp file', async () => {
  const file = path.join(dir, 'f')
  await writeFileAtomic(file, 'one')
  await writeFileAtomic(file, 'two')
  assert.equal(await fs.readFile(file, 'utf8'), 'two')
  assert.deepEqual(await fs.readdir(dir), ['f'])
})

test('a transaction replaces and removes files together', async () => {
  await fs.writeFile(path.join(dir, 'base.patch'), 'old base')
  await fs.writeFile(path.join(dir, 'changes.patch'), 'old changes')
  await commitFiles(dir, { 'base.patch': { data: 'new base' }, 'changes.patch': { remove: true } })
  assert.equal(await fs.readFile(path.join(dir, 'base.patch'), 'utf8'), 'new base')
  assert.deepEqual((await fs.readdir(dir)).sort(), ['base.patch'])
})

test('a transaction cut short before READY is dropped; after READY it is finished', async () => {
  await fs.writeFile(path.join(dir, 'base.patch'), 'old')
  await fs.mkdir(path.join(dir, '.txn'))
  await fs.writeFile(path.join(dir, '.txn', 'base.patch'), 'half')
  await recoverTransaction(dir)
  assert.equal(await fs.readFile(path.join(dir, 'base.patch'), 'utf8'), 'old')

  await fs.mkdir(path.join(dir, '.txn'))
  await fs.writeFile(path.join(dir, '.txn', 'base.patch'), 'complete')
  await fs.writeFile(path.join(dir, '.txn', 'READY'), JSON.stringify(['changes.patch']))
  await fs.writeFile(path.join(dir, 'changes.patch'), 'stale')
  await recoverTransaction(dir)
  assert.equal(await fs.readFile(path.join(dir, 'base.patch'), 'utf8'), 'complete')
  await assert.rejects(fs.access(path.join(dir, 'changes.patch')))
})

test("a lock names its holder; a dead holder's lock is taken over", async () => {
  const lock = await acquireLock(dir, 's1', 'resume')
  await assert.rejects(acquireLock(dir, 's1', 'push'), /in use by 'realm resume' \(pid \d+/)
  await lock.release()
  await fs.writeFile(
    path.join(dir, 'lock'),
    JSON.stringify({ pid: 2 ** 22 + 12345, command: 'resume', host: os.hostname(), startedAt: 'then' }),
  )
  const taken = await acquireLock(dir, 's1', 'push')
  assert.equal(JSON.parse(await fs.readFile(path.join(dir, 'lock'), 'utf8')).command, 'push', "the lock is now the taker's")
  await taken.release()
  await assert.rejects(fs.access(path.join(dir, 'lock')))
})

test('a damaged session file is named in the error', async () => {
  const session = await createSession('s1', '/p', META)
  await fs.writeFile(path.join(session.dir, 'session.json'), '{"version": 1, "baseC')
  await assert.rejects(
    loadSession('s1'),
    (e: Error) => e.name === 'UserError' && e.message.includes(path.join(session.dir, 'session.json')),
  )
  await fs.rm(path.join(session.dir, 'project_dir'))
  await fs.writeFile(path.join(session.dir, 'session.json'), JSON.stringify(META))
  await assert.rejects(loadSession('s1'), /project_dir is missing/)
})

test('creating a session twice is refused, and the first stays intact', async () => {
  await createSession('s1', '/p', META)
  await assert.rejects(createSession('s1', '/q', META), /already exists/)
  assert.equal((await loadSession('s1')).projectDir, '/p')
})
