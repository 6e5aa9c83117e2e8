// The egress policy against the real engine: a reachability matrix under each --network mode, the blocked
// summary, the agent's lack of NET_ADMIN / NET_RAW, a sidecar that cannot set its rules, and what happens to the
// network when realm is killed; the enforcing modes on both of realm's paths (the bridge, and the relay that every
// engine but this machine's Docker takes, forced here with REALM_NET_PATH).
// The "outside" is a host of this test's own (test/helpers/outside-host.ts): a network namespace behind a veth
// pair; nothing leaves the machine. The "host service" listens on 0.0.0.0.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import fs from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip, sessionContainer, waitInContainer } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { engineSocket } from '../../lib/container/engine-api.js'
import { PLACEHOLDERS } from '../../lib/net/broker.js'
import { sweepStale } from '../../lib/net/sidecar.js'
import { standbyKey } from '../../lib/net/standby.js'
import { type OutsideHost, startOutsideHost } from '../helpers/outside-host.js'
import { explain, NET_PATHS, type NetPath, netPathEnv, realm, startRealm, TEST_IMAGE, TEST_NET_IMAGE } from '../helpers/realm.js'

const dockerProblem = await dockerSkip()
const skip = dockerProblem || (process.getuid?.() !== 0 ? 'SKIPPED: the network matrix makes a network namespace, which needs root' : false)
if (skip && process.env.CI && !dockerProblem) throw new Error(String(skip))

const id = randomBytes(3).toString('hex')

/** The host's own non-Docker IPv4 address, where a service on 0.0.0.0 also answers. */
function hostAddress(): string {
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    if (name === 'lo' || name.startsWith('docker') || name.startsWith('veth') || name.startsWith('rlmo')) continue
    const v4 = list?.find((e) => e.family === 'IPv4' && !e.internal)
    if (v4) return v4.address
  }
  throw new Error('no host address')
}

async function gateway(): Promise<string> {
  const { stdout } = await execa('docker', ['network', 'inspect', 'bridge', '--format', '{{json .IPAM.Config}}'])
  const subnet = (JSON.parse(stdout) as Array<{ Subnet: string; Gateway?: string }>)[0]
  return subnet.Gateway ?? subnet.Subnet.replace(/\.0\/\d+$/, '.1')
}

describe('the network policy', { skip, timeout: 10 * 60_000 }, () => {
  let fx: { project: string; home: string }
  useProject(undefined, (f) => (fx = f))
  let service: http.Server
  let api: http.Server
  let servicePort: number
  let apiKeys: Array<string | undefined>
  let apiUrl: string
  let gw: string
  let hostIp: string
  let outside: OutsideHost | undefined
  let OUTSIDE: string
  let OUTSIDE_NAME: string
  let BLOCKED_NAME: string

  before(async () => {
    service = http.createServer((_req, res) => res.end('host-service\n'))
    await new Promise<void>((resolve) => service.listen(0, '0.0.0.0', resolve))
    servicePort = (service.address() as AddressInfo).port
    apiKeys = []
    api = http.createServer((req, res) => {
      apiKeys.push(req.headers['x-api-key'] as string | undefined)
      res.end('model-api\n')
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
    gw = await gateway()
    hostIp = hostAddress()
    outside = await startOutsideHost()
    ;({ address: OUTSIDE, allowedName: OUTSIDE_NAME, blockedName: BLOCKED_NAME } = outside)
  })

  after(async () => {
    await outside?.stop()
    service?.close()
    api?.close()
  })

  /** The agent's probes: each prints `name=<http status>` (000: no connection). */
  function probes(mode: string): string {
    const direct = (name: string, url: string) =>
      `printf '${name}=%s\\n' "$(curl -s -o /dev/null -m 4 --noproxy '*' -w '%{http_code}' ${url})"`
    const proxied = (name: string, url: string) =>
      `printf '${name}=%s\\n' "$(curl -s -o /dev/null -m 6 --proxy "$HTTP_PROXY" --noproxy '' -w '%{http_code}' ${url})"`
    const host = mode === 'host' ? '127.0.0.1' : hostIp
    return [
      direct('host-service', `http://${host}:${servicePort}/`),
      direct('gateway', `http://${gw}:${servicePort}/`),
      direct('outside', `http://${OUTSIDE}:8080/`),
      direct('model-api', '-H "x-api-key: $ANTHROPIC_API_KEY" "$ANTHROPIC_BASE_URL/v1/ping"'),
      'if [ -n "$HTTP_PROXY" ]; then',
      proxied('proxy-allowed-name', `http://${OUTSIDE_NAME}:8080/`),
      proxied('proxy-allowed-tunnel', `-p http://${OUTSIDE_NAME}:8080/`),
      proxied('proxy-other-name', `http://${BLOCKED_NAME}:8080/`),
      proxied('proxy-loopback', `http://127.0.0.1:${servicePort}/`),
      proxied('proxy-localhost', `http://localhost:${servicePort}/`),
      proxied('proxy-private', `-p http://${gw}:${servicePort}/`),
      'fi',
      `grep -E '^Cap(Eff|Bnd)' /proc/self/status`,
      // The real key, anywhere in the container: its environment, every process's, every file.
      `printf 'sentinel-env=%s\\n' "$(env | grep -c sk-real-SENTINEL)"`,
      `printf 'sentinel-environ=%s\\n' "$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c sk-real-SENTINEL)"`,
      `printf 'sentinel-files=%s\\n' "$(grep -rlsF sk-real-SENTINEL / --exclude-dir=proc --exclude-dir=sys | wc -l)"`,
      `printf 'placeholder=%s\\n' "$ANTHROPIC_API_KEY"`,
    ].join('\n')
  }

  async function runMode(mode: string, netPath: NetPath = 'bridge') {
    const session = `net-${mode}-${netPath}`
    const result = await realm(['new', session, '--network', mode, '--allow', `${OUTSIDE_NAME}:8080`, '--', probes(mode)], {
      cwd: fx.project,
      home: fx.home,
      env: { ANTHROPIC_BASE_URL: apiUrl, ANTHROPIC_API_KEY: 'sk-real-SENTINEL', REALM_TRACE: '1', ...netPathEnv(netPath) },
      timeout: 120_000,
    })
    assert.equal(result.code, 0, explain(result))
    const seen = Object.fromEntries(
      [...result.stdout.matchAll(/^([a-z-]+)=(\d{3})$/gm)].map((m) => [m[1], m[2] === '200' ? 'open' : 'closed']),
    )
    console.log(`# ${mode}: ${JSON.stringify(seen)}`)
    return { result, seen }
  }

  const OPEN_NETWORK = { 'host-service': 'open', gateway: 'open', outside: 'open', 'model-api': 'open' }
  const CLOSED = { 'host-service': 'closed', gateway: 'closed', outside: 'closed', 'model-api': 'open' }

  for (const netPath of NET_PATHS) {
    test(`${netPath}: allowlist: only the broker and the proxy; the proxy lets through the allowed name alone`, async () => {
      const { result, seen } = await runMode('allowlist', netPath)
      assert.deepEqual(seen, {
        ...CLOSED,
        'proxy-allowed-name': 'open',
        'proxy-allowed-tunnel': 'open',
        'proxy-other-name': 'closed',
        'proxy-loopback': 'closed',
        'proxy-localhost': 'closed',
        'proxy-private': 'closed',
      })
      // The agent cannot change the rules or go around them: no NET_ADMIN (bit 12), no NET_RAW (bit 13).
      for (const [, mask] of result.stdout.matchAll(/^Cap(?:Eff|Bnd):\s+([0-9a-f]+)$/gm))
        assert.equal(BigInt(`0x${mask}`) & 0x3000n, 0n, mask)
      for (const where of ['env', 'environ', 'files']) assert.match(result.stdout, new RegExp(`^sentinel-${where}=0$`, 'm'), where)
      assert.match(result.stdout, new RegExp(`^placeholder=${PLACEHOLDERS.ANTHROPIC_API_KEY}$`, 'm'))
      assert.ok(apiKeys.length > 0 && apiKeys.every((k) => k === 'sk-real-SENTINEL'), 'the model API got the real key from the broker')
      const summary = result.stderr.split('\n').find((l) => l.startsWith('realm: blocked '))
      assert.ok(summary, result.stderr)
      // Seven attempts: three direct ones (the sidecar's), four through the proxy; the line names the first five.
      assert.match(summary, /^realm: blocked 7 connections: .* — allow with --allow \S+$/)
      const traced = [...result.stderr.matchAll(/^realm-trace \d+ blocked (\S+) \(/gm)].map((m) => m[1])
      const parts = [
        `${hostIp}:${servicePort}`,
        `${gw}:${servicePort}`,
        `${OUTSIDE}:8080`,
        `${BLOCKED_NAME}:8080`,
        `127.0.0.1:${servicePort}`,
      ]
      for (const part of [...parts, `localhost:${servicePort}`])
        assert.ok(traced.includes(part), `REALM_TRACE shows ${part}: ${traced.join(', ')}`)
    })

    test(`${netPath}: model: the broker only; the proxy allows nothing, not even --allow`, async () => {
      const { seen } = await runMode('model', netPath)
      assert.deepEqual(seen, {
        ...CLOSED,
        'proxy-allowed-name': 'closed',
        'proxy-allowed-tunnel': 'closed',
        'proxy-other-name': 'closed',
        'proxy-loopback': 'closed',
        'proxy-localhost': 'closed',
        'proxy-private': 'closed',
      })
    })
  }

  test('open: the network is really reachable (so the closed results above are the policy), the key still stays out', async () => {
    const { result, seen } = await runMode('open')
    assert.deepEqual(seen, OPEN_NETWORK)
    assert.match(result.stdout, /^sentinel-env=0$/m)
    assert.ok(apiKeys.at(-1) === 'sk-real-SENTINEL')
    assert.doesNotMatch(result.stderr, /realm: blocked/)
  })

  test("host: the host's own network, the broker on its loopback", async () => {
    const { result, seen } = await runMode('host')
    assert.deepEqual(seen, OPEN_NETWORK)
    assert.match(result.stdout, /^sentinel-env=0$/m)
    assert.ok(apiKeys.at(-1) === 'sk-real-SENTINEL')
  })

  test('--network in REALM_DOCKER_ARGS is refused, naming the realm option', async () => {
    const result = await realm(['new', 'net-conflict', '--', 'true'], {
      cwd: fx.project,
      home: fx.home,
      env: { REALM_DOCKER_ARGS: '--network host' },
    })
    assert.equal(result.code, 1)
    assert.match(
      result.stderr,
      /^realm: REALM_DOCKER_ARGS: '--network' conflicts with realm's network policy — use realm's own --network host .* --network open/m,
    )
  })

  for (const netPath of NET_PATHS) {
    test(`${netPath}: a sidecar that cannot set its rules refuses the run, and the agent never starts`, async () => {
      // The agent's image as the sidecar: it has sh but no iptables, so the sidecar's script fails at once.
      const result = await realm(['new', `net-no-rules-${netPath}`, '--', 'echo AGENT-RAN; touch agent-ran'], {
        cwd: fx.project,
        home: fx.home,
        env: { REALM_NET_IMAGE: TEST_IMAGE, ...netPathEnv(netPath) },
      })
      assert.equal(result.code, 1, explain(result))
      assert.match(result.stderr, /^realm: the network policy cannot be enforced on this engine: .* — run with --network open/m)
      assert.equal(result.stderr.split('\n').filter((l) => l.startsWith('realm: ')).length, 1, explain(result))
      assert.doesNotMatch(result.stdout + result.stderr, /AGENT-RAN/)
    })

    test(`${netPath}: realm killed mid-run: the sidecar goes with it, and closes even realm's ports behind it`, async () => {
      const session = `net-killed-${netPath}`
      const child = startRealm(['new', session, '--', 'touch /tmp/agent-started; sleep 60'], {
        cwd: fx.project,
        home: fx.home,
        env: netPathEnv(netPath),
      })
      const container = await sessionContainer(session)
      // The agent starts once the network is in place (on the relay path: the relay listens).
      await waitInContainer(container, '/tmp/agent-started')
      // The sidecar: the container whose network namespace the agent's container joined.
      const mode = (await execa('docker', ['inspect', '--format', '{{.HostConfig.NetworkMode}}', container])).stdout
      const sidecar = mode.startsWith('container:') ? mode.slice('container:'.length) : ''
      assert.match((await execa('docker', ['inspect', '--format', '{{.Name}}', sidecar])).stdout, /^\/realm-net-/)
      const network = (await execa('docker', ['inspect', '--format', '{{.HostConfig.NetworkMode}}', sidecar])).stdout
      assert.equal(network, netPath === 'relay' ? 'none' : 'bridge')
      // Where the proxy listened, as the agent was told.
      const env = JSON.parse((await execa('docker', ['inspect', '--format', '{{json .Config.Env}}', container])).stdout) as string[]
      const proxy = new URL(String(env.find((e) => e.startsWith('HTTP_PROXY='))?.slice('HTTP_PROXY='.length)))
      const url = `http://${proxy.hostname}:${proxy.port}/`
      const curl = ['curl', '-s', '-o', '/dev/null', '-m', '3', '--noproxy', '*', '-w', '%{http_code}', url]
      if (netPath === 'relay') {
        // The relay's port in the agent's namespace answers while realm runs (the proxy refuses a request without its token).
        assert.equal(proxy.hostname, '127.0.0.1')
        assert.equal((await execa('docker', ['exec', container, ...curl], { reject: false })).stdout, '407')
      }
      child.kill('SIGKILL')
      const started = Date.now()
      let gone = false
      while (Date.now() - started < 20_000 && !gone) {
        gone = (await execa('docker', ['inspect', sidecar], { reject: false })).exitCode !== 0
        if (!gone) await new Promise((r) => setTimeout(r, 200))
      }
      console.log(`# ${netPath}: sidecar gone ${Date.now() - started} ms after realm was killed`)
      assert.ok(gone, 'the sidecar ended when realm died')
      // Whatever listens on the proxy's old address now (realm is gone), the agent cannot reach it; a container
      // of its own on the bridge can, so the closed result is the rules'.
      const squatter = http.createServer((_req, res) => res.end('squatter\n'))
      await new Promise<void>((resolve) => squatter.listen(Number(proxy.port), proxy.hostname, resolve))
      try {
        const agent = await execa('docker', ['exec', container, ...curl], { reject: false })
        assert.equal(agent.stdout, '000', "the agent cannot reach what took realm's port")
        if (netPath === 'bridge') {
          const other = await execa('docker', ['run', '--rm', TEST_IMAGE, ...curl], { reject: false })
          assert.equal(other.stdout, '200', 'a container of its own reaches it')
        }
      } finally {
        squatter.close()
        await execa('docker', ['rm', '-f', container], { reject: false })
        await child.catch(() => undefined)
      }
    })
  }

  test('a sidecar left created but never started (realm killed between the two) is swept by a later run', async () => {
    const stale = `realm-net-e2e-stale-${id}`
    const other = `keep-realm-net-e2e-${id}`
    for (const name of [stale, other]) await execa('docker', ['create', '--name', name, TEST_IMAGE, 'true'])
    try {
      await sweepStale(engineSocket() ?? '/var/run/docker.sock', 0)
      const exists = async (name: string) => (await execa('docker', ['inspect', name], { reject: false })).exitCode === 0
      assert.equal(await exists(stale), false, 'the leftover sidecar is gone')
      assert.equal(await exists(other), true, "a container that only has realm-net- inside its name is not realm's")
    } finally {
      await execa('docker', ['rm', '-f', stale, other], { reject: false })
    }
  })

  test('a standby sidecar is closed until claimed, serves one run only, and goes with it', async () => {
    // This realm's standbys (the key: the sidecar's image and this checkout's docker/net), running.
    const key = standbyKey({ image: TEST_NET_IMAGE, netDir: path.join(import.meta.dirname, '..', '..', 'docker', 'net') })
    const standbys = async () =>
      (await execa('docker', ['ps', '-q', '--no-trunc', '--filter', `label=realm.net.standby=${key}`])).stdout.split('\n').filter(Boolean)
    // A run leaves a standby for the next one (its start does not hold realm's exit up: it may follow it).
    // (Long enough for the standby to have started before realm exits, so that its hint is left too.)
    const first = await realm(['new', 'net-standby-1', '--', 'sleep 2'], { cwd: fx.project, home: fx.home, env: {} })
    assert.equal(first.code, 0, explain(first))
    let waiting = await standbys()
    for (let i = 0; i < 100 && waiting.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      waiting = await standbys()
    }
    assert.ok(waiting.length >= 1, 'a standby runs after the run')
    const standby = waiting[0]
    // And names it, its claim made ready, for this home's next run (net/standby-hint.ts).
    const hintFile = path.join(fx.home, 'net-standby')
    for (let i = 0; i < 100 && !(await fs.stat(hintFile).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 100))
    const hint = JSON.parse(await fs.readFile(hintFile, 'utf8')) as { key: string; container: string }
    assert.equal(hint.key, key)
    const hinted = (await execa('docker', ['inspect', '--format', '{{.Id}}', hint.container])).stdout
    assert.ok(waiting.includes(hinted), `the hint names a standby (${hint.container})`)
    // Unclaimed, its namespace reaches nothing: not the host's service, not the gateway, not the outside host.
    const curl = (url: string) => ['curl', '-s', '-o', '/dev/null', '-m', '3', '--noproxy', '*', '-w', '%{http_code}', url]
    for (const url of [`http://${hostIp}:${servicePort}/`, `http://${gw}:${servicePort}/`, `http://${OUTSIDE}:8080/`]) {
      const probe = await execa('docker', ['run', '--rm', '--network', `container:${standby}`, TEST_IMAGE, ...curl(url)], { reject: false })
      assert.equal(probe.stdout, '000', `unclaimed, ${url} is closed`)
    }
    // The next run takes a standby (its agent joins one), and the one it took goes with the run.
    const child = startRealm(['new', 'net-standby-2', '--', 'sleep 4'], { cwd: fx.project, home: fx.home, env: {} })
    const container = await sessionContainer('net-standby-2')
    const mode = (await execa('docker', ['inspect', '--format', '{{.HostConfig.NetworkMode}}', container])).stdout
    const taken = (await execa('docker', ['inspect', '--format', '{{.Id}}', mode.slice('container:'.length)])).stdout
    assert.equal(taken, hinted, 'the run took the standby its hint named')
    assert.ok(
      waiting.includes(taken),
      `the run joined a standby (${mode}; standbys: ${waiting.join(' ')}; now: ${(await standbys()).join(' ')})`,
    )
    // Nobody else can claim it meanwhile.
    const again = await execa('docker', ['exec', '-i', taken, 'sh', '/realm/net/firewall.sh', 'claim'], { input: '', reject: false })
    assert.equal(again.stdout.trim(), 'taken')
    const done = await child
    assert.equal(done.exitCode, 0, done.stderr)
    let gone = false
    for (let i = 0; i < 50 && !gone; i++) {
      gone = (await execa('docker', ['inspect', taken], { reject: false })).exitCode !== 0
      if (!gone) await new Promise((r) => setTimeout(r, 200))
    }
    assert.ok(gone, 'the claimed standby is gone once its run is over')
  })

  test('a stale hint of a standby (gone, its exec unknown) costs a run nothing but the usual way', async () => {
    const key = standbyKey({ image: TEST_NET_IMAGE, netDir: path.join(import.meta.dirname, '..', '..', 'docker', 'net') })
    const stale = { key, container: `realm-net-standby-gone-${id}`, exec: 'f'.repeat(64) }
    await fs.writeFile(path.join(fx.home, 'net-standby'), JSON.stringify(stale), { mode: 0o600 })
    const result = await realm(['new', 'net-standby-stale', '--', 'true'], { cwd: fx.project, home: fx.home, env: {} })
    assert.equal(result.code, 0, explain(result))
    const left = await fs.readFile(path.join(fx.home, 'net-standby'), 'utf8').catch(() => '')
    assert.ok(!left.includes(stale.container), 'the stale hint was taken away')
  })

  test('a standby nobody claims ends by itself, and one that cannot close its namespace ends at once', async () => {
    const run = (image: string, seconds: string) =>
      execa(
        'docker',
        [
          'run',
          '--rm',
          '--cap-add',
          'NET_ADMIN',
          '--sysctl',
          'net.ipv6.conf.all.disable_ipv6=1',
          '--mount',
          `type=bind,src=${path.join(import.meta.dirname, '..', '..', 'docker', 'net')},dst=/realm/net,readonly`,
          '--entrypoint',
          'sh',
          image,
          '/realm/net/firewall.sh',
          'standby',
          seconds,
        ],
        { reject: false, timeout: 20_000 },
      )
    const expired = await run(TEST_NET_IMAGE, '1')
    assert.equal(expired.exitCode, 0, expired.stderr)
    // The agent's image as a standby: it has no iptables, so it never waits, closed or not, to be claimed.
    const started = Date.now()
    const unable = await run(TEST_IMAGE, '600')
    assert.notEqual(unable.exitCode, 0)
    assert.ok(Date.now() - started < 15_000, 'it ended at once')
  })
})
