// The relay sidecar's plan (lib/net/relay-plan.ts) and the archive that carries realm's script into it
// (lib/container/tar.ts): pure.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { tarArchive } from '../../lib/container/tar.js'
import { planRelay, planRelaySidecar, relayFiles, relaySidecarSpec } from '../../lib/net/relay-plan.js'

const plan = { name: 'realm-net-x', image: 'img', netDir: path.resolve(import.meta.dirname, '..', '..', 'docker', 'net'), relay: true }

test('a relay sidecar has no network but loopback, the same least privilege as on the bridge, and no host path through the CLI', () => {
  const { create, copy, start } = planRelaySidecar(plan)
  assert.equal(create[0], 'create')
  assert.equal(create[create.indexOf('--network') + 1], 'none')
  assert.deepEqual(create.slice(create.indexOf('img')), ['img', '/realm/net/firewall.sh', 'relay'])
  assert.equal(create[create.indexOf('--cap-drop') + 1], 'ALL')
  assert.deepEqual(
    create.flatMap((word, i) => (create[i - 1] === '--cap-add' ? [word] : [])),
    ['NET_ADMIN', 'SETUID', 'SETGID'],
  )
  assert.ok(create.includes('no-new-privileges') && create.includes('--rm') && create.includes('-i'))
  assert.ok(!create.some((w) => w === '--mount' || w === '-v' || w === '--add-host'), 'nothing of the host, no hosts line')
  assert.deepEqual(copy, ['cp', '-', 'realm-net-x:/'])
  assert.deepEqual(start, ['start', '-a', '-i', 'realm-net-x'])
  // realm-relay runs as nobody: it needs no privilege.
  assert.deepEqual(planRelay('realm-net-x', [41000, 41001]), [
    'exec',
    '-i',
    '-u',
    '65534:65534',
    'realm-net-x',
    'realm-relay',
    '41000',
    '41001',
  ])
})

test('the engine API gets the same container; on a socket of this machine docker/net is mounted read-only instead', () => {
  const spec = relaySidecarSpec(plan) as { HostConfig: Record<string, unknown>; Cmd: string[] }
  assert.equal(spec.HostConfig.NetworkMode, 'none')
  assert.deepEqual(spec.Cmd, ['/realm/net/firewall.sh', 'relay'])
  assert.equal(spec.HostConfig.Mounts, undefined)
  const mounted = relaySidecarSpec(plan, true) as { HostConfig: { Mounts: unknown } }
  assert.deepEqual(mounted.HostConfig.Mounts, [{ Type: 'bind', Source: plan.netDir, Target: '/realm/net', ReadOnly: true }])
})

test("the archive tar itself unpacks: realm's firewall.sh under /realm/net, and a file of any size", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-tar-'))
  try {
    fs.writeFileSync(path.join(dir, 'relay.tar'), relayFiles(plan))
    execFileSync('tar', ['-xf', 'relay.tar'], { cwd: dir })
    assert.equal(
      fs.readFileSync(path.join(dir, 'realm', 'net', 'firewall.sh'), 'utf8'),
      fs.readFileSync(path.join(plan.netDir, 'firewall.sh'), 'utf8'),
    )
    const odd = Buffer.alloc(1025, 7)
    fs.writeFileSync(
      path.join(dir, 'odd.tar'),
      tarArchive([
        { name: 'a/', mode: 0o755 },
        { name: 'a/b', mode: 0o600, data: odd },
      ]),
    )
    execFileSync('tar', ['-xf', 'odd.tar'], { cwd: dir })
    assert.deepEqual(fs.readFileSync(path.join(dir, 'a', 'b')), odd)
    assert.equal(fs.statSync(path.join(dir, 'a', 'b')).mode & 0o777, 0o600)
    assert.equal(execFileSync('tar', ['-tvf', 'odd.tar'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).length, 2)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  assert.throws(() => tarArchive([{ name: 'x'.repeat(101), mode: 0o644, data: Buffer.alloc(0) }]))
})
