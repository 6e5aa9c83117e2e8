// Planning a streamed run for an engine that cannot see the host's files (container/remote-plan.ts), and reading
// the engine's answer to the probe that tells such an engine apart (container/engine-location.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { readProbeAnswer } from '../../lib/container/engine-location.ts'
import { DEFAULT_PIDS_LIMIT, readLimits } from '../../lib/container/limits.ts'
import { cacheVolume, planCacheUpdate, planRemoteCreate, type RemotePlanInput } from '../../lib/container/remote-plan.ts'
import { createRefusal } from '../../lib/container/remote.ts'

function input(overrides: Partial<RemotePlanInput> = {}): RemotePlanInput {
  return {
    image: 'realm-test:latest',
    containerName: 'realm-s-abc123',
    tty: false,
    user: { uid: 1000, gid: 1000 },
    cacheVolume: 'realm-cache-0123456789abcdef',
    env: { REALM_MODE: 'new', REALM_BASE: 'f'.repeat(40) },
    passEnv: ['ANTHROPIC_MODEL'],
    limits: readLimits({}, {}),
    extraArgs: ['--cpus', '2'],
    command: ['claude', '--dangerously-skip-permissions'],
    ...overrides,
  }
}

const values = (args: string[], flag: string) => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []))

test('a streamed run is created, not run: no --rm, so the container keeps its outputs when realm goes', () => {
  const args = planRemoteCreate(input())
  assert.equal(args[0], 'create')
  assert.ok(!args.includes('--rm'))
  assert.ok(args.includes('-i'))
  assert.ok(!args.includes('-t'))
  assert.ok(planRemoteCreate(input({ tty: true })).includes('-t'))
  assert.deepEqual(values(args, '--name'), ['realm-s-abc123'])
  assert.deepEqual(values(args, '--user'), ['1000:1000'])
})

test('no bind mount at all: the only mount is the read-only cache volume; the workspace, HOME and git dir are tmpfs', () => {
  const args = planRemoteCreate(input())
  assert.deepEqual(values(args, '--mount'), ['type=volume,src=realm-cache-0123456789abcdef,dst=/realm/cache,readonly'])
  assert.ok(!args.includes('-v') && !args.includes('--volume'))
  assert.deepEqual(
    values(args, '--tmpfs').map((t) => t.split(':')[0]),
    ['/workspace', '/realm/home', '/realm/git'],
  )
})

test("the entrypoint is told the run is streamed, a copy, and gets realm's values; the limits are a local run's", () => {
  const args = planRemoteCreate(input())
  const env = values(args, '-e')
  for (const value of ['REALM_STREAMED=1', 'REALM_WORKSPACE=copy', 'REALM_WORKSPACE_DIR=/workspace', 'HOME=/realm/home', 'REALM_MODE=new'])
    assert.ok(env.includes(value), value)
  assert.ok(env.includes('ANTHROPIC_MODEL'), 'passed by name')
  assert.deepEqual(values(args, '--pids-limit'), [String(DEFAULT_PIDS_LIMIT)])
  assert.deepEqual(values(args, '--entrypoint'), ['sh'])
  assert.deepEqual(args.slice(-4), ['realm-test:latest', '/realm/lib/entrypoint.sh', 'claude', '--dangerously-skip-permissions'])
  assert.deepEqual(args.slice(args.indexOf('--cpus'), args.indexOf('--cpus') + 2), ['--cpus', '2'])
})

test("the cache is written only by realm's own container: no network, no capabilities, the volume writable there alone", () => {
  const args = planCacheUpdate('realm-test:latest', 'realm-cache-x')
  assert.deepEqual(args.slice(0, 3), ['run', '--rm', '-i'])
  assert.deepEqual(values(args, '--network'), ['none'])
  assert.deepEqual(values(args, '--cap-drop'), ['ALL'])
  assert.deepEqual(values(args, '--mount'), ['type=volume,src=realm-cache-x,dst=/realm/cache'])
  assert.match(args.at(-1) ?? '', /git index-pack --stdin/)
})

test('one cache volume per project, named the same on every run', () => {
  assert.equal(cacheVolume('/home/me/project'), cacheVolume('/home/me/project'))
  assert.notEqual(cacheVolume('/home/me/project'), cacheVolume('/home/me/other'))
  assert.match(cacheVolume('/home/me/project'), /^realm-cache-[0-9a-f]{16}$/)
})

test("the probe's answer: a missing bind source is a remote engine, a missing image a local one, anything else neither", () => {
  assert.equal(readProbeAnswer('invalid mount config for type "bind": bind source path does not exist: /x'), 'remote')
  assert.equal(readProbeAnswer('Error: statfs /x: no such file or directory'), 'remote')
  assert.equal(readProbeAnswer('{"message":"No such image: realm-probe-absent-image:none"}'), 'local')
  assert.equal(readProbeAnswer('Error: realm-probe-absent-image:none: image not known'), 'local')
  assert.equal(readProbeAnswer('Error response from daemon: conflict'), undefined)
})

test("the engine's refusals to create the container become one line that says what to do", () => {
  const env = { DOCKER_HOST: 'tcp://10.0.0.2:2375' }
  assert.match(
    createRefusal(
      'Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /home/me/x\n',
      'img',
      env,
    ).message,
    /^the Docker engine \(DOCKER_HOST=tcp:\/\/10\.0\.0\.2:2375\) cannot see \/home\/me\/x: .* — remove that mount from REALM_DOCKER_ARGS/,
  )
  assert.match(
    createRefusal('Unable to find image; Error response from daemon: No such image: img:1', 'img:1', env).message,
    /^image 'img:1' is not on the Docker engine .* 'docker save img:1 \| DOCKER_HOST=tcp:\/\/10\.0\.0\.2:2375 docker load', or build it there$/,
  )
  assert.match(
    createRefusal('Cannot connect to the Docker daemon at tcp://10.0.0.2:2375. Is the docker daemon running?', 'img', env).message,
    /^cannot reach the Docker engine \(DOCKER_HOST=tcp:\/\/10\.0\.0\.2:2375\): .* — start it, or check DOCKER_HOST/,
  )
  for (const line of ['a', 'b'].map((x) => createRefusal(`${x}\nmore`, 'img', env).message)) assert.ok(!line.includes('\n'))
})
