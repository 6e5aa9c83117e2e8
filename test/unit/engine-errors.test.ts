// What realm says when the engine's CLI is missing: the program it looked for, and the next step.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { missingEngineMessage } from '../../lib/container/docker.js'

test('neither CLI installed and none named: both are named, and how to get one', () => {
  assert.equal(
    missingEngineMessage('docker', undefined),
    'neither docker nor podman is installed — install Docker Engine (or Docker Desktop, or Podman) and try again',
  )
})

test('REALM_ENGINE names a CLI that is missing: that one, and the way back to the other', () => {
  assert.match(
    missingEngineMessage('podman', 'podman'),
    /^podman is not installed \(REALM_ENGINE=podman\) — .*unset REALM_ENGINE to use Docker$/,
  )
  assert.match(
    missingEngineMessage('docker', 'docker'),
    /^docker is not installed \(REALM_ENGINE=docker\) — .*unset REALM_ENGINE to use Podman$/,
  )
})
