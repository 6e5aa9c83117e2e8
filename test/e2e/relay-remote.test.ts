// The relay path against a remote engine (a second dockerd reached over tcp, with no path of this machine in it:
// test/helpers/remote-engine.ts): realm's sidecar is started through the docker CLI, its script copied in
// (`docker cp`), realm-relay run over `docker exec -i`, and a container that joins its namespace, as the agent's
// does, reaches a server on realm's own loopback through it and nothing else; its attempts elsewhere are
// reported. realm's own modules drive the sidecar here, as a run does (net/egress.ts), since this checks the
// network's part of a remote run on its own.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { withRelay, launchRelaySidecar } from '../../lib/net/relay-sidecar.js'
import { configureSidecar, newSidecarPlan, type Sidecar } from '../../lib/net/sidecar.js'
import { dockerSkip } from '../helpers/docker.js'
import { TEST_IMAGE, TEST_NET_IMAGE } from '../helpers/realm.js'
import { type RemoteEngine, remoteEngineOrSkip } from '../helpers/remote-engine.js'

const hostSkip = await dockerSkip()
const started = hostSkip ? { skip: hostSkip } : await remoteEngineOrSkip({ images: [TEST_IMAGE, TEST_NET_IMAGE] })
const skip = started.skip
const engine = started.engine as RemoteEngine

describe('the relay on a remote engine', { skip, timeout: 5 * 60_000 }, () => {
  let server: http.Server
  let port: number
  const saved = process.env.DOCKER_HOST

  before(async () => {
    server = http.createServer((req, res) => res.end(`relayed ${req.url}\n`))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    // realm's own calls in this process go to the stand-in, through the docker CLI (no socket for tcp://).
    process.env.DOCKER_HOST = engine.env.DOCKER_HOST
  })

  after(async () => {
    if (saved === undefined) delete process.env.DOCKER_HOST
    else process.env.DOCKER_HOST = saved
    server?.close()
    await engine?.stop()
  })

  const remote = (...args: string[]) => execa('docker', args, { env: engine.env, reject: false, timeout: 60_000 })

  test("a joined container reaches realm's loopback through the relay, and nothing else; its attempts are reported", async () => {
    const plan = newSidecarPlan({ ...process.env, REALM_NET_IMAGE: TEST_NET_IMAGE }, true)
    const launched = await launchRelaySidecar(plan)
    let sidecar: Sidecar | undefined
    try {
      sidecar = withRelay(launched, configureSidecar(launched, '127.0.0.1', [port]), [port])
      await sidecar.ready
      const gateway = (await remote('network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}')).stdout.trim()
      const probe = (name: string, url: string) =>
        `printf '${name}=%s\\n' "$(curl -s -m 4 --noproxy '*' -o /dev/null -w '%{http_code}' ${url})"`
      const script = [
        `printf 'relayed=%s\\n' "$(curl -s -m 10 http://127.0.0.1:${port}/x)"`,
        probe('around', 'http://198.51.100.7:8080/'),
        probe('gateway', `http://${gateway || '172.17.0.1'}:2375/`),
        probe('engine-host', `http://${engine.host}:2375/`),
      ].join('\n')
      const agent = await remote(
        'run',
        '--rm',
        '--network',
        `container:${plan.name}`,
        '--cap-drop',
        'NET_RAW',
        '--cap-drop',
        'NET_ADMIN',
        TEST_IMAGE,
        'sh',
        '-c',
        script,
      )
      assert.equal(agent.exitCode, 0, agent.stderr)
      assert.match(agent.stdout, /^relayed=relayed \/x$/m)
      for (const name of ['around', 'gateway', 'engine-host']) assert.match(agent.stdout, new RegExp(`^${name}=000$`, 'm'), agent.stdout)
      // Every attempt is on the sidecar's list by the time the run is over (tcpdump's lines come at once).
      for (let i = 0; i < 20 && sidecar.blocked.length < 3; i++) await new Promise((r) => setTimeout(r, 100))
      const seen = sidecar.blocked.map((b) => `${b.destination} ${b.reason}`)
      for (const destination of ['198.51.100.7:8080', `${gateway || '172.17.0.1'}:2375`, `${engine.host}:2375`])
        assert.ok(seen.includes(`${destination} bypass`), `${destination} reported: ${seen.join(', ')}`)
    } finally {
      await sidecar?.stop()
    }
    // The sidecar ends with realm's end of it.
    let gone = false
    for (let i = 0; i < 50 && !gone; i++) {
      gone = (await remote('inspect', plan.name)).exitCode !== 0
      if (!gone) await new Promise((r) => setTimeout(r, 200))
    }
    assert.ok(gone, 'the sidecar is gone once realm let go of it')
  })
})
