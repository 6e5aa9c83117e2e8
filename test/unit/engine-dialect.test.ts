import assert from 'node:assert/strict'
import { test } from 'node:test'

import { DOCKER, type EngineKind, parseHardLimits, planFor } from '../../lib/container/engine-dialect.ts'
import { isPodmanVersion, isRootlessInfo } from '../../lib/container/engine-kind.ts'
import { readLimits } from '../../lib/container/limits.ts'
import { planDockerRun, type RunPlanInput } from '../../lib/container/plan.ts'
import { defaultRouteInterface, podmanFacts } from '../../lib/net/podman-network.ts'

const PODMAN: EngineKind = { engine: 'podman', podmanCli: true, rootless: false }
const ROOTLESS_CLI: EngineKind = { engine: 'podman', podmanCli: true, rootless: true }
const ROOTLESS_SOCKET: EngineKind = { engine: 'podman', podmanCli: false, rootless: true }

function input(over: Partial<RunPlanInput> = {}): RunPlanInput {
  return {
    image: 'img:1',
    containerName: 'realm-s1-abc',
    tty: false,
    user: { uid: 1000, gid: 1000 },
    projectRoot: '/p',
    hideLayer: '/s/layers/hide',
    viewLayers: { upper: '/s/layers/view-upper', work: '/s/layers/view-work' },
    sessionDir: '/s/input',
    runDir: '/s/run',
    realmLib: '/opt/realm/docker',
    workspace: { kind: 'overlay', upper: '/s/layers/upper', work: '/s/layers/work' },
    env: {},
    passEnv: [],
    mounts: [],
    limits: readLimits({}, {}),
    extraArgs: [],
    command: ['claude'],
    ...over,
  }
}

const values = (args: string[], flag: string) => args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []))

test("Docker's plan is the one realm always had: local-driver volumes, no copy, the user's uid", () => {
  const args = planDockerRun(input({ engine: planFor(DOCKER) }))
  assert.deepEqual(args, planDockerRun(input()))
  const mounts = values(args, '--mount')
  assert.ok(
    mounts.includes(
      'type=volume,dst=/realm/project,volume-driver=local,volume-nocopy=true,volume-opt=type=overlay,volume-opt=device=overlay,volume-opt=o=lowerdir=/s/layers/hide:/p',
    ),
  )
  assert.ok(mounts.some((m) => m.startsWith('type=volume,dst=/workspace,volume-driver=local')))
  assert.deepEqual(values(args, '--user'), ['1000:1000'])
  assert.deepEqual(values(args, '--ulimit'), [])
})

test("Podman: its own --mount words, a scratch upper layer and ro for the project's view, ulimits it may set", () => {
  const args = planDockerRun(input({ engine: planFor(PODMAN, { nofile: 20000, nproc: 96367 }) }))
  const mounts = values(args, '--mount')
  assert.ok(
    mounts.includes(
      'type=volume,dst=/realm/project,volume-opt=type=overlay,volume-opt=device=overlay,"volume-opt=o=lowerdir=/s/layers/hide:/p,upperdir=/s/layers/view-upper,workdir=/s/layers/view-work",ro',
    ),
    mounts.join('\n'),
  )
  assert.ok(
    mounts.includes(
      'type=volume,dst=/workspace,volume-opt=type=overlay,volume-opt=device=overlay,"volume-opt=o=lowerdir=/s/layers/hide:/p,upperdir=/s/layers/upper,workdir=/s/layers/work"',
    ),
  )
  assert.ok(!mounts.some((m) => /volume-driver|volume-nocopy/.test(m)), 'words Podman refuses')
  // no more than realm's own hard limit of files, nor than Podman's own of processes
  assert.deepEqual(values(args, '--ulimit'), ['nofile=20000:20000', 'nproc=32768:32768'])
  assert.deepEqual(values(args, '--user'), ['1000:1000'])
  assert.ok(!args.includes('--userns'))
  assert.deepEqual(values(args, '-w'), ['/workspace'])
})

test('Podman without a hidden file binds the project read-only, as on Docker', () => {
  const args = planDockerRun(input({ hideLayer: undefined, viewLayers: undefined, engine: planFor(PODMAN) }))
  assert.ok(values(args, '--mount').includes('type=bind,src=/p,dst=/realm/project,readonly'))
  assert.deepEqual(values(args, '--ulimit'), ['nofile=1048576:1048576', 'nproc=32768:32768'])
})

test("rootless Podman's CLI: keep-id with the user's uid, the workspace where no image has a directory", () => {
  const args = planDockerRun(input({ engine: planFor(ROOTLESS_CLI) }))
  assert.deepEqual(values(args, '--userns'), ['keep-id'])
  assert.deepEqual(values(args, '--user'), ['1000:1000'])
  assert.deepEqual(values(args, '-w'), ['/realm/workspace'])
  assert.ok(args.includes('REALM_WORKSPACE_DIR=/realm/workspace'))
  assert.ok(values(args, '--mount').some((m) => m.startsWith('type=volume,dst=/realm/workspace,')))
  // a copy's tmpfs is given to the user (U), else its root is the namespace's and git refuses the checkout
  const copy = planDockerRun(input({ workspace: { kind: 'copy' }, engine: planFor(ROOTLESS_CLI) }))
  assert.ok(values(copy, '--tmpfs').includes('/realm/workspace:rw,exec,mode=1777,U,size=25%'), values(copy, '--tmpfs').join(' '))
})

test("rootless Podman's CLI behind a sidecar: the sidecar is keep-id, the agent joins its user namespace", () => {
  const engine = planFor(ROOTLESS_CLI)
  assert.deepEqual(engine.sidecarArgs, ['--userns', 'keep-id'])
  const args = planDockerRun(input({ engine, userns: 'realm-net-1' }))
  assert.deepEqual(values(args, '--userns'), ['container:realm-net-1'])
  assert.deepEqual(values(args, '--user'), ['1000:1000'])
  assert.deepEqual(planFor(PODMAN).sidecarArgs, [])
  assert.deepEqual(planFor(ROOTLESS_SOCKET).sidecarArgs, [])
})

test("rootless Podman through Docker's CLI (no keep-id there): the container's root is the user", () => {
  const args = planDockerRun(input({ engine: planFor(ROOTLESS_SOCKET) }))
  assert.deepEqual(values(args, '--user'), ['0:0'])
  assert.ok(!args.includes('--userns'))
})

test('hard limits read from /proc/self/limits', () => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             96367                96367                processes ',
    'Max open files            1024                 20000                files     ',
  ].join('\n')
  assert.deepEqual(parseHardLimits(text), { nofile: 20000, nproc: 96367 })
  assert.deepEqual(parseHardLimits('Max open files            unlimited            unlimited            files'), {
    nofile: undefined,
    nproc: undefined,
  })
})

test("Podman is recognized by its /version, rootless by its info; Docker's are not Podman's", () => {
  assert.ok(isPodmanVersion({ Components: [{ Name: 'Podman Engine', Version: '4.3.1' }, { Name: 'Conmon' }] }))
  assert.ok(!isPodmanVersion({ Components: [{ Name: 'Engine', Version: '20.10.24' }, { Name: 'containerd' }] }))
  assert.ok(!isPodmanVersion({}))
  assert.ok(isRootlessInfo({ SecurityOptions: ['name=seccomp,profile=default', 'name=rootless'] }))
  assert.ok(!isRootlessInfo({ SecurityOptions: ['name=seccomp,profile=default'] }))
  // Podman's own /libpod/info says it; its Docker-compatible /info does not
  assert.ok(isRootlessInfo({ host: { security: { rootless: true, seccompEnabled: true } } }))
  assert.ok(!isRootlessInfo({ host: { security: { rootless: false } } }))
})

test("a Podman container reaches realm at the host's address on its default route", () => {
  const routes = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
  ].join('\n')
  assert.equal(defaultRouteInterface(routes), 'eth0')
  const eth0 = [{ address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: '192.0.2.2/24' }] as const
  assert.deepEqual(podmanFacts(true, routes, { eth0: [...eth0] }), { kind: 'podman', host: '192.0.2.2', rootless: true })
  assert.equal(podmanFacts(false, routes.split('\n').slice(0, 2).join('\n'), { eth0: [...eth0] }).kind, 'unsupported')
})
