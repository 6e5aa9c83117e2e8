// The line after a run that says what the network policy stopped, against the real engine and sidecar: a
// stand-in agent makes each kind of attempt (a host that is not allowed, an allowed name that does not
// resolve, a private address, a DNS query of its own, a connection around the proxy, and Claude Code's own
// telemetry), and the line gives each its reason and the advice that follows it.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'

import { dockerSkip } from '../helpers/docker.js'
import { useProject } from '../helpers/fixture.js'
import { explain, NET_PATHS, netPathEnv, realm } from '../helpers/realm.js'

const skip = await dockerSkip()
const id = randomBytes(3).toString('hex')
// Names under .invalid never resolve (RFC 6761), wherever the test runs.
const DENIED = `denied-${id}.invalid`
const GHOST = `ghost-${id}.invalid`
const LOOKED_UP = `lookup-${id}.invalid`

describe('the blocked-connections line', { skip, timeout: 5 * 60_000 }, () => {
  let fx: { project: string; home: string }
  useProject(undefined, (f) => (fx = f))

  // On both of realm's paths: the bridge, and the relay every other engine takes (forced here).
  for (const netPath of NET_PATHS) {
    test(`${netPath}: each attempt with its reason; the advice opens only what an --allow should; Claude Code’s own left out`, async () => {
      // Each probe prints `name=<http status>`: 000 is no connection at all.
      const probe = (name: string, curl: string) => `printf '${name}=%s\\n' "$(curl -s -o /dev/null -m 5 -w '%{http_code}' ${curl})"`
      const script = [
        probe('not-allowed', `http://${DENIED}/`),
        probe('unresolved', `https://${GHOST}/`),
        probe('private', 'http://10.0.0.5:5432/'),
        probe('dns', `--noproxy '*' http://${LOOKED_UP}/`),
        probe('bypass', `--noproxy '*' http://198.51.100.7:8080/`),
        // Claude Code's telemetry, as it would try it through the proxy.
        probe('telemetry', 'https://statsig.anthropic.com/v1/initialize'),
      ].join('\n')
      const result = await realm(['new', `report-${netPath}`, '--allow', GHOST, '--', script], {
        cwd: fx.project,
        home: fx.home,
        env: { REALM_TRACE: '1', ...netPathEnv(netPath) },
        timeout: 120_000,
      })
      assert.equal(result.code, 0, explain(result))
      // Every one of them was stopped.
      for (const name of ['not-allowed', 'unresolved', 'private', 'dns', 'bypass', 'telemetry']) {
        const status = new RegExp(`^${name}=(\\d{3})$`, 'm').exec(result.stdout)?.[1]
        assert.ok(status === '000' || status === '403' || status === '502', `${name}: ${status}\n${explain(result)}`)
      }
      const line = result.stderr.split('\n').find((l) => l.startsWith('realm: blocked '))
      assert.ok(line, explain(result))
      console.log(`# ${line}`)
      for (const part of [
        new RegExp(`${DENIED.replaceAll('.', '\\.')} \\(not allowed\\)`),
        new RegExp(`${GHOST.replaceAll('.', '\\.')} \\(does not resolve\\)`),
        /10\.0\.0\.5:5432 \(host or private address\)/,
        new RegExp(`${LOOKED_UP.replaceAll('.', '\\.')}( ×\\d+)? \\(DNS\\)`),
        /198\.51\.100\.7:8080 \(around the proxy\)/,
      ])
        assert.match(line, part)
      // The advice is the --allow of the one destination an --allow should open: never DNS, a resolver, the
      // allowed name that did not resolve, nor the telemetry Claude Code turns off.
      assert.match(line, new RegExp(` — allow with --allow ${DENIED.replaceAll('.', '\\.')}$`))
      assert.doesNotMatch(line, /:53\b|statsig/)
      // Five destinations (the DNS lookups counted one by one), the telemetry not among them.
      const count = Number(/^realm: blocked (\d+) connections/.exec(line)?.[1])
      assert.ok(count >= 5, line)
      // REALM_TRACE still shows the telemetry, marked as Claude Code's own.
      assert.match(result.stderr, /^realm-trace \d+ blocked statsig\.anthropic\.com \(not allowed, Claude Code's own\)$/m)
    })

    test(`${netPath}: only DNS and a way around the proxy: no --allow at all, the advice is to use the proxy`, async () => {
      const script = [
        `curl -s -o /dev/null -m 5 --noproxy '*' http://${LOOKED_UP}/ || true`,
        `curl -s -o /dev/null -m 5 --noproxy '*' http://198.51.100.7:8080/ || true`,
      ].join('\n')
      const result = await realm(['new', `report-dns-${netPath}`, '--', script], {
        cwd: fx.project,
        home: fx.home,
        env: netPathEnv(netPath),
        timeout: 120_000,
      })
      assert.equal(result.code, 0, explain(result))
      const line = result.stderr.split('\n').find((l) => l.startsWith('realm: blocked '))
      assert.ok(line, explain(result))
      assert.doesNotMatch(line, /--allow/)
      assert.match(
        line,
        / — (DNS is closed by design \(realm's proxy resolves names\)|only realm's proxy leads out): the tool must use HTTPS_PROXY/,
      )
    })
  }
})
