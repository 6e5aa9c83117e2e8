// The relay path against the real engine, from the agent's side (network.test.ts, blocked-report.test.ts and
// proxy-clients.test.ts run their matrices on it too): through the docker CLI, as on an engine realm has no
// socket for (a remote one); many connections at once and a reader that stops; and a sidecar image without
// realm-relay, which refuses the run rather than open anything.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, realm, TEST_NET_IMAGE } from '../helpers/realm.js'

const skip = await dockerSkip()
const id = randomBytes(3).toString('hex')
// An address of the host's loopback the proxy reaches only because the test allows it exactly.
const ADDRESS = '127.0.0.2'
const NO_RELAY_IMAGE = `realm-test-net-norelay:${id}`

describe('the relay, from the agent’s side', { skip, timeout: 10 * 60_000 }, () => {
  let fx: { project: string; home: string }
  useProject(undefined, (f) => (fx = f))
  let origin: http.Server
  let allow: string
  let url: string

  before(async () => {
    // "/big" is 48 MB; anything else a short answer.
    origin = http.createServer((req, res) => {
      if (req.url !== '/big') return void res.end('hello\n')
      let left = 48
      const chunk = Buffer.alloc(1024 * 1024, 0x61)
      const write = () => {
        while (left-- > 0) if (!res.write(chunk)) return void res.once('drain', write)
        res.end()
      }
      write()
    })
    await new Promise<void>((resolve) => origin.listen(0, ADDRESS, resolve))
    const { port } = origin.address() as AddressInfo
    allow = `${ADDRESS}:${port}`
    url = `http://${ADDRESS}:${port}`
  })

  after(async () => {
    origin?.close()
    await execa('docker', ['rmi', '-f', NO_RELAY_IMAGE], { reject: false })
  })

  const env = (extra: Record<string, string> = {}) => ({ REALM_NET_PATH: 'relay', REALM_TRACE: '1', ...extra })

  test('through the docker CLI (no engine socket, as for a remote engine): the proxy, the broker, and a blocked attempt reported', async () => {
    const script = [
      `printf 'proxied=%s\\n' "$(curl -s -m 10 ${url}/)"`,
      `printf 'direct=%s\\n' "$(curl -s -o /dev/null -m 4 --noproxy '*' -w '%{http_code}' http://198.51.100.7:8080/)"`,
      `printf 'broker=%s\\n' "$(curl -s -o /dev/null -m 4 --noproxy '*' -w '%{http_code}' "$ANTHROPIC_BASE_URL/v1/x")"`,
    ].join('\n')
    // DOCKER_CONTEXT makes realm go through the CLI for everything, and take the relay on its own (no REALM_NET_PATH).
    const result = await realm(['new', 'relay-cli', '--allow', allow, '--', script], {
      cwd: fx.project,
      home: fx.home,
      env: { DOCKER_CONTEXT: 'default', REALM_TRACE: '1', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/' },
      timeout: 120_000,
    })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stderr, /^realm-trace \d+ sidecar starting \(relay\)$/m)
    assert.match(result.stdout, /^proxied=hello$/m)
    assert.match(result.stdout, /^direct=000$/m)
    // The broker answers (its upstream does not: 502), so the agent reached it through the relay.
    assert.match(result.stdout, /^broker=502$/m)
    assert.match(result.stderr, /^realm: blocked 1 connection: 198\.51\.100\.7:8080 \(around the proxy\)/m)
  })

  test('three times the relay’s bound of connections at once: all are served, in turn', async () => {
    const script = [
      `i=0; while [ $i -lt 384 ]; do curl -s -m 60 -o /dev/null -w "%{http_code}\\n" ${url}/ >>/tmp/codes & i=$((i+1)); done`,
      'wait',
      `printf 'ok=%s\\n' "$(grep -c '^200$' /tmp/codes)"`,
    ].join('\n')
    const result = await realm(['new', 'relay-many', '--allow', allow, '--', script], {
      cwd: fx.project,
      home: fx.home,
      env: env(),
      timeout: 180_000,
    })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stdout, /^ok=384$/m, explain(result))
  })

  test('a reader that stops holds up its own connection only', async () => {
    const script = [
      // 48 MB into a pipe nobody reads for 8 seconds: curl stops, and the relay stops reading for it.
      `(curl -s -m 60 ${url}/big | (sleep 8; wc -c | sed 's/^ */big=/')) &`,
      'sleep 1',
      'start=$(date +%s%N)',
      `printf 'small=%s\\n' "$(curl -s -m 10 ${url}/)"`,
      `printf 'small-ms=%s\\n' $(( ($(date +%s%N) - start) / 1000000 ))`,
      'wait',
    ].join('\n')
    const result = await realm(['new', 'relay-slow', '--allow', allow, '--', script], {
      cwd: fx.project,
      home: fx.home,
      env: env(),
      timeout: 120_000,
    })
    assert.equal(result.code, 0, explain(result))
    assert.match(result.stdout, /^small=hello$/m)
    const ms = Number(/^small-ms=(\d+)$/m.exec(result.stdout)?.[1])
    console.log(`# a request beside a stalled one: ${ms} ms`)
    assert.ok(ms < 5000, `not held up by the stalled reader: ${ms} ms`)
    assert.match(result.stdout, new RegExp(`^big=${48 * 1024 * 1024}$`, 'm'), 'the stalled one completes once read')
  })

  test('a sidecar image without realm-relay refuses the run with one line, and the agent never starts', async () => {
    const build = await execa('docker', ['build', '-q', '-t', NO_RELAY_IMAGE, '-'], {
      input: `FROM ${TEST_NET_IMAGE}\nRUN ["rm", "/usr/local/bin/realm-relay"]\n`,
      reject: false,
    })
    assert.equal(build.exitCode, 0, build.stderr)
    const result = await realm(['new', 'relay-none', '--', 'echo AGENT-RAN'], {
      cwd: fx.project,
      home: fx.home,
      env: env({ REALM_NET_IMAGE: NO_RELAY_IMAGE }),
    })
    assert.equal(result.code, 1, explain(result))
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('realm: '))
    assert.equal(lines.length, 1, explain(result))
    assert.match(
      lines[0],
      /^realm: the network policy cannot be enforced on this engine: the sidecar could not start its relay .* — run with --network open/,
    )
    assert.doesNotMatch(result.stdout, /AGENT-RAN/)
  })
})
