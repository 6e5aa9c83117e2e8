// The egress policy's pure parts: modes, allow entries, matching, restricted addresses, refused docker flags,
// the sidecar. The report of what was blocked: net-report.test.ts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { UserError } from '../../lib/common/errors.ts'
import { restrictedReason } from '../../lib/net/addresses.ts'
import { checkCaps, checkDockerArgs } from '../../lib/net/docker-args.ts'
import { requestedMode } from '../../lib/net/early.ts'
import { standbyEnabled, standbyKey } from '../../lib/net/standby.ts'
import { classifyEngine } from '../../lib/net/engine.ts'
import { allowList, isAllowed, parseAllowEntry, parseNetworkMode, PRESET } from '../../lib/net/policy.ts'
import { planSidecar, sidecarSpec } from '../../lib/net/sidecar-plan.ts'

test('the mode defaults to allowlist; anything else unknown is refused in one line naming the source', () => {
  assert.equal(parseNetworkMode(undefined, '--network'), 'allowlist')
  assert.equal(parseNetworkMode('host', '--network'), 'host')
  assert.throws(() => parseNetworkMode('none', 'REALM_NETWORK'), /REALM_NETWORK must be one of allowlist, model, open, host, not 'none'/)
})

test('allow entries: names, ports, wildcards, addresses; bad ones are refused', () => {
  assert.deepEqual(parseAllowEntry('Example.COM', 'x'), { host: 'example.com' })
  assert.deepEqual(parseAllowEntry('example.com:8443', 'x'), { host: 'example.com', port: 8443 })
  assert.deepEqual(parseAllowEntry('[::1]:5432', 'x'), { host: '::1', port: 5432 })
  assert.deepEqual(parseAllowEntry('10.0.0.5:5432', 'x'), { host: '10.0.0.5', port: 5432 })
  assert.deepEqual(parseAllowEntry('*.example.org', 'x'), { host: '*.example.org' })
  assert.throws(
    () => parseAllowEntry('exa mple', '--allow'),
    (e: unknown) => e instanceof UserError && /--allow: 'exa mple'/.test(e.message),
  )
  assert.throws(() => parseAllowEntry('example.com:99999', '--allow'), /no valid port/)
  assert.throws(() => parseAllowEntry('http://example.com', '--allow'), UserError)
})

test('matching: a name without a port allows 80 and 443 only; a wildcard covers subdomains, not the name itself', () => {
  const list = [parseAllowEntry('example.com', 'x'), parseAllowEntry('db.internal:5432', 'x'), parseAllowEntry('*.cdn.net', 'x')]
  assert.ok(isAllowed(list, 'EXAMPLE.com.', 443))
  assert.ok(isAllowed(list, 'example.com', 80))
  assert.ok(!isAllowed(list, 'example.com', 22))
  assert.ok(!isAllowed(list, 'evil-example.com', 443))
  assert.ok(!isAllowed(list, 'example.com.evil.net', 443))
  assert.ok(isAllowed(list, 'db.internal', 5432))
  assert.ok(!isAllowed(list, 'db.internal', 443))
  assert.ok(isAllowed(list, 'a.b.cdn.net', 443))
  assert.ok(!isAllowed(list, 'cdn.net', 443))
})

test('the allowlist: preset + --allow + REALM_ALLOW + the user file; model mode allows nothing; a project file never counts', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-net-'))
  try {
    fs.writeFileSync(path.join(home, 'allow'), '# mine\nfile.example:8080\n')
    const env = { REALM_HOME: home, REALM_ALLOW: 'env.example, other.example' }
    const list = allowList('allowlist', { flags: ['flag.example'], env })
    for (const host of ['flag.example', 'env.example', 'other.example', 'registry.npmjs.org', 'github.com'])
      assert.ok(isAllowed(list, host, 443), host)
    assert.ok(isAllowed(list, 'file.example', 8080))
    assert.equal(list.length, PRESET.length + 4)
    assert.deepEqual(allowList('model', { flags: ['flag.example'], env }), [])
    assert.throws(() => allowList('model', { flags: ['exa$mple'], env }), /--allow/)
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
})

test('restricted addresses: loopback, private, link-local, CGNAT, mapped, the host own; public ones pass', () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.17.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::2',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
  ]) {
    assert.ok(restrictedReason(address), address)
  }
  for (const entry of Object.values(os.networkInterfaces()).flat()) if (entry) assert.ok(restrictedReason(entry.address), entry.address)
  for (const address of ['1.1.1.1', '198.18.0.2', '2606:4700::1111']) assert.equal(restrictedReason(address), undefined, address)
})

test('docker flags that would undo the policy or carry a credential in are refused, naming what to use', () => {
  for (const args of [['--network', 'host'], ['--network=bridge'], ['--net', 'host'], ['--net=none']]) {
    for (const mode of ['allowlist', 'open'] as const) {
      assert.throws(() => checkDockerArgs(args, mode, 'REALM_DOCKER_ARGS'), /REALM_DOCKER_ARGS: .* --network host .* --network open/)
    }
  }
  assert.throws(() => checkDockerArgs(['--privileged'], 'allowlist', '--docker-args'), /--privileged/)
  assert.throws(() => checkDockerArgs(['--cap-add', 'NET_ADMIN'], 'model', '--docker-args'), /NET_ADMIN/)
  assert.throws(() => checkDockerArgs(['--cap-add=cap_net_raw'], 'allowlist', '--docker-args'), /net_raw/)
  assert.throws(() => checkDockerArgs(['-e', 'ANTHROPIC_API_KEY'], 'open', '--docker-args'), /broker/)
  // The agent's container joins the sidecar's namespace, where Docker refuses what only the holder sets.
  for (const args of [
    ['-p', '8080:80'],
    ['-p8080:80'],
    ['--publish=80'],
    ['-P'],
    ['--hostname', 'x'],
    ['--dns', '1.1.1.1'],
    ['--add-host', 'a:1.2.3.4'],
  ]) {
    assert.throws(
      () => checkDockerArgs(args, 'allowlist', '--docker-args'),
      /shares the sidecar's network; .* --network open/,
      args.join(' '),
    )
    checkDockerArgs(args, 'open', 'x')
  }
  checkDockerArgs(
    ['--cap-drop', 'CHOWN', '-e', 'FOO=1', '--memory', '2g', '--pids-limit', '64', '--security-opt', 'no-new-privileges=true'],
    'allowlist',
    'x',
  )
  checkDockerArgs(['--privileged'], 'open', 'x')
})

test("docker flags that weaken the container's least privilege are refused under allowlist and model, allowed under open", () => {
  const cases: Array<[string[], RegExp]> = [
    [['--cap-add', 'SYS_PTRACE'], /'--cap-add SYS_PTRACE' .* use realm's --caps instead, or --network open/],
    [['--cap-add=MKNOD'], /--caps/],
    [['--security-opt', 'no-new-privileges=false'], /--new-privileges/],
    [['--security-opt=no-new-privileges:false'], /--new-privileges/],
    [['--security-opt', 'seccomp=unconfined'], /seccomp=unconfined/],
    [['--security-opt', 'seccomp=/tmp/allow-all.json'], /seccomp/],
    [['--security-opt', 'apparmor=unconfined'], /apparmor/],
    [['--security-opt', 'label=disable'], /label/],
    [['--security-opt', 'systempaths=unconfined'], /systempaths/],
    [['--pids-limit', '-1'], /--pids-limit none/],
    [['--pids-limit=0'], /--pids-limit/],
    [['--device', '/dev/kvm'], /'--device'/],
    [['--device-cgroup-rule', 'c 1:3 mr'], /--device-cgroup-rule/],
    [['--gpus', 'all'], /--gpus/],
    [['--userns', 'host'], /--userns host/],
    [['--pid=host'], /--pid host/],
    [['--ipc', 'host'], /--ipc host/],
    [['--pid', 'container:other'], /--pid container:other/],
    [['--uts', 'host'], /--uts host/],
    [['--cgroupns', 'host'], /--cgroupns host/],
    [['--privileged'], /--privileged/],
  ]
  for (const [args, message] of cases) {
    for (const mode of ['allowlist', 'model'] as const)
      assert.throws(() => checkDockerArgs(args, mode, '--docker-args'), message, args.join(' '))
    checkDockerArgs(args, 'open', 'x')
    checkDockerArgs(args, 'host', 'x')
  }
})

test("realm's own --caps may not carry what would change the network's rules under allowlist and model", () => {
  for (const cap of ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'ALL']) {
    assert.throws(() => checkCaps(['CHOWN', cap], 'allowlist', '--caps'), new RegExp(`^UserError: --caps: ${cap} .* --network open`))
    checkCaps(['CHOWN', cap], 'open', '--caps')
  }
  checkCaps(['CHOWN', 'NET_BIND_SERVICE', 'SYS_PTRACE'], 'model', 'REALM_CAPS')
})

test('engines: a rootless, remote or gatewayless one takes the relay; Docker Desktop is told apart; the default bridge gateway is found', () => {
  assert.deepEqual(classifyEngine({ SecurityOptions: ['name=seccomp', 'name=rootless'] }, {}), {
    kind: 'relay',
    why: "a rootless engine keeps its bridge in a namespace of its own, where realm's host is not",
    rootless: true,
  })
  const bridge = { IPAM: { Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] } }
  assert.equal(classifyEngine({ OSType: 'linux' }, bridge, false).kind, 'relay', 'not on a socket of this machine')
  assert.equal(classifyEngine({ OSType: 'linux' }, { IPAM: { Config: [] } }).kind, 'relay', 'no gateway')
  assert.deepEqual(classifyEngine({ OperatingSystem: 'Docker Desktop', OSType: 'linux' }, {}), { kind: 'desktop' })
  assert.deepEqual(classifyEngine({ OSType: 'linux' }, { IPAM: { Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] } }), {
    kind: 'linux',
    gateway: '172.18.0.1',
  })
  assert.deepEqual(classifyEngine({ OSType: 'linux' }, { IPAM: { Config: [{ Subnet: '10.99.0.0/16' }] }, Options: {} }), {
    kind: 'linux',
    gateway: '10.99.0.1',
  })
  assert.equal(classifyEngine({ OSType: 'windows' }, {}).kind, 'unsupported')
})

test("the sidecar holds a bridge namespace without IPv6, with only the capabilities it needs, and runs realm's own script", () => {
  const plan = {
    name: 'realm-net-x',
    image: 'img',
    netDir: '/opt/realm/docker/net',
  }
  const argv = planSidecar(plan)
  assert.deepEqual(argv.slice(argv.indexOf('img')), ['img', '/realm/net/firewall.sh'])
  assert.equal(argv[argv.indexOf('--entrypoint') + 1], 'sh')
  assert.equal(argv[argv.indexOf('--network') + 1], 'bridge')
  const sysctls = argv.flatMap((word, i) => (argv[i - 1] === '--sysctl' ? [word] : []))
  assert.deepEqual(sysctls, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'])
  assert.equal(argv[argv.indexOf('--add-host') + 1], 'host.docker.internal:host-gateway')
  assert.equal(argv[argv.indexOf('--cap-drop') + 1], 'ALL')
  const added = argv.flatMap((word, i) => (argv[i - 1] === '--cap-add' ? [word] : []))
  assert.deepEqual(added, ['NET_ADMIN', 'SETUID', 'SETGID'])
  assert.ok(argv.includes('-i') && argv.includes('--rm'))
  // The engine API's container is the same one.
  const spec = sidecarSpec(plan) as { Entrypoint: string[]; Cmd: string[]; StdinOnce: boolean; HostConfig: Record<string, unknown> }
  assert.deepEqual([...spec.Entrypoint, ...spec.Cmd], ['sh', '/realm/net/firewall.sh'])
  assert.equal(spec.StdinOnce, true)
  assert.deepEqual(spec.HostConfig.CapDrop, ['ALL'])
  assert.deepEqual(spec.HostConfig.CapAdd, added)
  assert.equal(spec.HostConfig.NetworkMode, 'bridge')
  assert.deepEqual(
    Object.entries(spec.HostConfig.Sysctls as Record<string, string>).map(([k, v]) => `${k}=${v}`),
    sysctls,
  )
  assert.deepEqual(spec.HostConfig.ExtraHosts, ['host.docker.internal:host-gateway'])
  assert.equal(spec.HostConfig.AutoRemove, true)
  assert.deepEqual(spec.HostConfig.SecurityOpt, ['no-new-privileges'])
  assert.deepEqual(spec.HostConfig.Mounts, [{ Type: 'bind', Source: '/opt/realm/docker/net', Target: '/realm/net', ReadOnly: true }])
})

test("the early start reads the run's network mode from argv as the CLI will, and starts nothing for anything else", () => {
  const argv = (...words: string[]) => ['node', 'realm', ...words]
  assert.equal(requestedMode(argv('new', 's'), {}), 'allowlist')
  assert.equal(requestedMode(argv('resume', 's', '--network', 'open'), {}), 'open')
  assert.equal(requestedMode(argv('new', 's', '--network=model'), {}), 'model')
  assert.equal(requestedMode(argv('new', 's'), { REALM_NETWORK: 'host' }), 'host')
  // After `--` the words are the agent's.
  assert.equal(requestedMode(argv('new', 's', '--', '--network', 'open'), {}), 'allowlist')
  assert.equal(requestedMode(argv('new', 's', '--network', 'bogus'), {}), undefined)
  assert.equal(requestedMode(argv('new', '--help'), {}), undefined)
  assert.equal(requestedMode(argv('diff', 's'), {}), undefined)
})

test('a standby is taken only by a realm of the same sidecar image and the same firewall script', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-standby-'))
  try {
    fs.writeFileSync(path.join(dir, 'firewall.sh'), 'one\n')
    const key = standbyKey({ image: 'realm-net:latest', netDir: dir })
    assert.equal(standbyKey({ image: 'realm-net:latest', netDir: dir }), key)
    assert.notEqual(standbyKey({ image: 'other:latest', netDir: dir }), key)
    fs.writeFileSync(path.join(dir, 'firewall.sh'), 'two\n')
    assert.notEqual(standbyKey({ image: 'realm-net:latest', netDir: dir }), key)
    assert.equal(standbyEnabled({}), true)
    assert.equal(standbyEnabled({ REALM_NET_STANDBY: '0' }), false)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
