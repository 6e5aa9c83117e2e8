// The hint a run leaves of the standby sidecar it started (net/standby-hint.ts): taken by one run only, only for
// the same key, and nothing but a well-formed hint is ever used.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { leaveHint, takeHint } from '../../lib/net/standby-hint.ts'

let home: string
let env: NodeJS.ProcessEnv
before(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-standby-hint-'))
  env = { REALM_HOME: home }
})
after(() => fs.rmSync(home, { recursive: true, force: true }))

const hint = { key: 'k1', container: 'realm-net-standby-0a1b2c3d', exec: 'e'.repeat(64) }

test('left privately, taken once', () => {
  leaveHint(hint, env)
  assert.equal(fs.statSync(path.join(home, 'net-standby')).mode & 0o777, 0o600)
  assert.deepEqual(takeHint('k1', env), hint)
  assert.equal(takeHint('k1', env), undefined, 'a second run finds none')
  assert.deepEqual(fs.readdirSync(home), [])
})

test('a hint for another key, or not well formed, is dropped', () => {
  leaveHint(hint, env)
  assert.equal(takeHint('k2', env), undefined)
  assert.equal(takeHint('k1', env), undefined, 'dropped when read')
  for (const bad of [
    { ...hint, container: '../x y' },
    { ...hint, exec: '' },
    { ...hint, exec: 7 },
  ]) {
    fs.writeFileSync(path.join(home, 'net-standby'), JSON.stringify(bad), { mode: 0o600 })
    assert.equal(takeHint('k1', env), undefined, JSON.stringify(bad))
  }
  fs.writeFileSync(path.join(home, 'net-standby'), 'not json', { mode: 0o600 })
  assert.equal(takeHint('k1', env), undefined)
  assert.deepEqual(fs.readdirSync(home), [])
})

test('a link in its place is not followed', () => {
  const elsewhere = path.join(home, 'elsewhere')
  fs.writeFileSync(elsewhere, JSON.stringify(hint))
  fs.symlinkSync(elsewhere, path.join(home, 'net-standby'))
  assert.equal(takeHint('k1', env), undefined)
  assert.equal(fs.readFileSync(elsewhere, 'utf8'), JSON.stringify(hint), 'what it pointed to is left alone')
  fs.rmSync(elsewhere)
})

test('no home: nothing left, nothing taken', () => {
  const missing = { REALM_HOME: path.join(home, 'missing') }
  leaveHint(hint, missing)
  assert.equal(takeHint('k1', missing), undefined)
})
