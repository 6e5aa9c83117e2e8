// The code cache of realm's bundle is code realm runs: read only from the user's own private places, never
// through a link, and only for the very source it was made from.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cacheName, commandKind, readCache, trustedDir, writeCache } from '../../lib/common/code-cache.ts'

let home: string
let dir: string
before(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-code-cache-'))
  dir = path.join(home, 'cache')
})
after(() => fs.rmSync(home, { recursive: true, force: true }))

test('a cache is named for the source, Node and the kind of command: a source of the same length gets another', () => {
  const one = cacheName('const a = 1', 'run', 'v20 x64')
  assert.match(one, /^run-[0-9a-f]{32}\.v8$/)
  assert.equal(cacheName('const a = 1', 'run', 'v20 x64'), one)
  assert.notEqual(cacheName('const b = 1', 'run', 'v20 x64'), one)
  assert.notEqual(cacheName('const a = 1', 'run', 'v22 x64'), one)
  assert.notEqual(cacheName('const a = 1', 'other', 'v20 x64'), one.replace(/^run/, 'other'))
  assert.equal(commandKind(['node', 'realm', 'new', 'x']), 'run')
  assert.equal(commandKind(['node', 'realm', 'resume', 'x']), 'run')
  assert.equal(commandKind(['node', 'realm', 'list']), 'other')
})

test('written privately, read back, and an older build of the same kind removed', () => {
  fs.chmodSync(home, 0o700)
  writeCache(home, dir, 'run-old.v8', Buffer.from('old'))
  writeCache(home, dir, 'other-keep.v8', Buffer.from('other'))
  writeCache(home, dir, 'run-new.v8', Buffer.from('new'))
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700)
  assert.equal(fs.statSync(path.join(dir, 'run-new.v8')).mode & 0o777, 0o600)
  assert.deepEqual(fs.readdirSync(dir).sort(), ['other-keep.v8', 'run-new.v8'])
  assert.ok(trustedDir(home, dir))
  assert.equal(readCache(path.join(dir, 'run-new.v8'))?.toString(), 'new')
})

test('nothing is read or written where someone else could write', () => {
  fs.chmodSync(home, 0o700)
  writeCache(home, dir, 'run-a.v8', Buffer.from('a'))
  fs.chmodSync(path.join(dir, 'run-a.v8'), 0o666)
  assert.equal(readCache(path.join(dir, 'run-a.v8')), undefined, 'a file others may write')
  fs.chmodSync(path.join(dir, 'run-a.v8'), 0o600)
  fs.chmodSync(dir, 0o770)
  assert.equal(trustedDir(home, dir), false, 'a cache directory open to the group')
  writeCache(home, dir, 'run-b.v8', Buffer.from('b'))
  assert.equal(fs.existsSync(path.join(dir, 'run-b.v8')), false)
  fs.chmodSync(dir, 0o700)
  fs.chmodSync(home, 0o755)
  assert.equal(trustedDir(home, dir), false, 'a home others may read')
  fs.chmodSync(home, 0o700)
  assert.ok(trustedDir(home, dir))
})

test('a link is never followed, to the cache or to its directory', () => {
  fs.chmodSync(home, 0o700)
  writeCache(home, dir, 'run-c.v8', Buffer.from('c'))
  const elsewhere = path.join(home, 'elsewhere')
  fs.writeFileSync(elsewhere, 'planted', { mode: 0o600 })
  fs.symlinkSync(elsewhere, path.join(dir, 'run-link.v8'))
  assert.equal(readCache(path.join(dir, 'run-link.v8')), undefined)
  const linkedDir = path.join(home, 'linked')
  fs.symlinkSync(dir, linkedDir)
  assert.equal(trustedDir(home, linkedDir), false)
  assert.equal(readCache(path.join(dir, 'missing.v8')), undefined)
})
