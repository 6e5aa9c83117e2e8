// A rootless engine, as pure logic: where its containers reach realm (the default route's address), who the
// agent runs as there (the container's root, which is the user outside, without the capabilities that give files
// away), and the refusal of a pids limit the engine would drop.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { DEFAULT_CAPS, DEFAULT_PIDS_LIMIT } from '../../lib/container/limits.ts'
import { fromThisMachine } from '../../lib/net/addresses.ts'
import { defaultRouteAddress } from '../../lib/net/podman-network.ts'
import { agentOn } from '../../lib/run/agent-on-engine.ts'

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`

const iface = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false) =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null }) as never

test("a rootless engine's containers reach realm at the default route's interface address, never a bridge's", () => {
  const interfaces = {
    docker0: [iface('172.17.0.1')],
    eth0: [iface('fe80::1', 'IPv6'), iface('192.0.2.2')],
    lo: [iface('127.0.0.1', 'IPv4', true)],
  }
  assert.equal(defaultRouteAddress(ROUTES, interfaces), '192.0.2.2')
  assert.equal(defaultRouteAddress(ROUTES.split('\n').slice(0, 2).join('\n'), interfaces), undefined, 'no default route')
  assert.equal(defaultRouteAddress('', interfaces), undefined)
})

test("the broker on the outward address takes this machine's connections (slirp4netns makes them) and no other host's", () => {
  assert.equal(fromThisMachine('127.0.0.1'), true)
  assert.equal(fromThisMachine('::ffff:127.0.0.1'), true)
  assert.equal(fromThisMachine('203.0.113.9'), false)
  assert.equal(fromThisMachine(undefined), false)
})

const limits = { caps: [...DEFAULT_CAPS], pidsLimit: DEFAULT_PIDS_LIMIT, tmpfsSize: '25%', newPrivileges: false }
const me = { uid: 1001, gid: 1001 }

test("on a rootless engine the agent is the container's root, without the capabilities that give files to other ids", () => {
  const agent = agentOn({ SecurityOptions: ['name=seccomp', 'name=rootless'], PidsLimit: true }, limits, me)
  assert.deepEqual(agent.user, { uid: 0, gid: 0 })
  assert.deepEqual(agent.limits.caps, ['DAC_OVERRIDE', 'FOWNER'])
  assert.equal(agent.limits.pidsLimit, DEFAULT_PIDS_LIMIT)
  assert.deepEqual(agentOn({ SecurityOptions: ['name=seccomp'], PidsLimit: true }, limits, me), { user: me, limits }, 'rootful: as before')
  assert.deepEqual(agentOn(undefined, limits, me), { user: me, limits }, 'an engine that cannot be asked: as before')
})

test('an engine that would drop the pids limit is refused one, unless the user gives it up', () => {
  const rootless = { SecurityOptions: ['name=rootless'], PidsLimit: false }
  assert.throws(() => agentOn(rootless, limits, me), /^UserError: .*\(a rootless engine without cgroup v2\) — run with --pids-limit none/)
  assert.throws(() => agentOn({ PidsLimit: false }, limits, me), /\(no pids cgroup\)/)
  assert.equal(agentOn(rootless, { ...limits, pidsLimit: undefined }, me).limits.pidsLimit, undefined)
})
