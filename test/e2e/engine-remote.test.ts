// realm against a remote Docker engine, played by a second dockerd in a container on this machine, reached over
// tcp (test/helpers/remote-engine.ts). First, that the stand-in is as remote as a real one: no path of the host
// exists there, so a run path that bind-mounts the project would fail here as it would on a real remote host.
// Then the flows every engine must pass (test/helpers/engine-suite.ts), with DOCKER_HOST pointing at it.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { engineSuite } from '../helpers/engine-suite.js'
import { TEST_IMAGE, TEST_NET_IMAGE, tempDir } from '../helpers/realm.js'
import { type RemoteEngine, remoteEngineOrSkip } from '../helpers/remote-engine.js'

const hostSkip = await dockerSkip()
const started = hostSkip ? { skip: hostSkip } : await remoteEngineOrSkip({ images: [TEST_IMAGE, TEST_NET_IMAGE] })
const skip = started.skip
const engine = started.engine as RemoteEngine
after(async () => engine?.stop())

/** `docker <args>` against the stand-in. */
function remote(...args: string[]) {
  return execa('docker', args, { env: engine.env, reject: false })
}

describe('the remote engine stand-in', { skip }, () => {
  let dir: { path: string; cleanup: () => Promise<void> }
  before(async () => {
    dir = await tempDir('realm-remote-')
    await fs.writeFile(path.join(dir.path, 'on-the-host'), 'host bytes\n')
  })
  after(async () => dir?.cleanup())

  test('runs the test image over tcp', async () => {
    const run = await remote('run', '--rm', TEST_IMAGE, 'cat', '/etc/passwd')
    assert.equal(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, /^root:/)
  })

  test('has none of the host paths: a bind mount of one is refused, or shows nothing of the host', async () => {
    const mount = await remote('run', '--rm', '--mount', `type=bind,src=${dir.path},dst=/x`, TEST_IMAGE, 'true')
    assert.notEqual(mount.exitCode, 0)
    assert.match(mount.stderr, /bind source path does not exist/)
    // `-v` makes the missing directory on the engine's side: empty, never the host's file.
    const volume = await remote('run', '--rm', '-v', `${dir.path}:/x`, TEST_IMAGE, 'ls', '-A', '/x')
    assert.equal(volume.exitCode, 0, volume.stderr)
    assert.equal(volume.stdout.trim(), '')
  })

  test('runs a container with no network', async () => {
    const run = await remote('run', '--rm', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'ls /sys/class/net')
    assert.equal(run.exitCode, 0, run.stderr)
    assert.equal(run.stdout.trim(), 'lo')
  })
})

/**
 * Whether realm runs on an engine where none of this machine's paths exist (the workspace streamed in, the work
 * streamed back: run/remote-run.ts). It does.
 */
const RUNS_WITHOUT_HOST_PATHS = true

engineSuite(
  {
    name: 'a remote Docker engine over tcp',
    env: engine?.env ?? {},
    // The workspace is streamed into a copy; under `open` there is no sidecar and so no relay to realm's broker.
    workspaces: ['copy'],
    openWithoutBroker: true,
  },
  skip || (!RUNS_WITHOUT_HOST_PATHS && "SKIPPED: realm does not yet run on an engine without this machine's paths"),
)
