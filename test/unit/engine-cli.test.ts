import assert from 'node:assert/strict'
import { test } from 'node:test'

import { chooseProgram } from '../../lib/container/engine-cli.js'

test('REALM_ENGINE names the engine CLI; otherwise docker when installed, else podman', () => {
  assert.equal(
    chooseProgram('podman', () => true),
    'podman',
  )
  assert.equal(
    chooseProgram('docker', () => false),
    'docker',
  )
  assert.equal(
    chooseProgram(undefined, (name) => name === 'podman'),
    'podman',
  )
  assert.equal(
    chooseProgram(undefined, () => true),
    'docker',
  )
  // Neither installed: docker, whose absence the caller reports in one line.
  assert.equal(
    chooseProgram(undefined, () => false),
    'docker',
  )
  assert.throws(() => chooseProgram('nerdctl', () => true), /REALM_ENGINE must be 'docker' or 'podman'/)
})
