// What the user is told about blocked connections: the sidecar's log lines read as attempts, each destination's
// reason, and advice that follows the reason (never opening DNS, never allowing what is already allowed).
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'

import { advice, type BlockedAttempt, blockedSummary, isBackground, refusalText } from '../../lib/net/report.ts'
import { configureSidecar, type Launched, parseBlockedLine } from '../../lib/net/sidecar.ts'

test('tcpdump lines: a port-53 packet is DNS (by name when readable), any other a way around the proxy; resets ignored', () => {
  assert.deepEqual(parseBlockedLine('18:56:21.583467 IP 172.17.0.2.36558 > 10.0.0.5.5432: Flags [S], seq 1, length 0'), {
    destination: '10.0.0.5:5432',
    reason: 'bypass',
  })
  assert.deepEqual(parseBlockedLine('18:56:21.5 IP 172.17.0.2.42425 > 8.8.8.8.53: 4242+ A? Example.com. (29)'), {
    destination: 'example.com',
    reason: 'dns',
  })
  assert.deepEqual(parseBlockedLine('18:56:21.5 IP 172.17.0.2.42425 > 8.8.8.8.53: UDP, length 3'), {
    destination: '8.8.8.8:53',
    reason: 'dns',
  })
  assert.deepEqual(parseBlockedLine('18:56:21.5 IP 172.17.0.2.42425 > 192.168.1.1.53: Flags [S], seq 1, length 0'), {
    destination: '192.168.1.1:53',
    reason: 'dns',
  })
  assert.equal(parseBlockedLine('listening on nflog:7, link-type NFLOG'), undefined)
  assert.equal(parseBlockedLine('19:06:23.9 IP 1.1.1.1.80 > 172.17.0.3.48602: Flags [R.], seq 0, ack 1, win 0, length 0'), undefined)
  assert.equal(parseBlockedLine(`x IP 1.2.3.4.5 > 8.8.8.8.53: 1+ A? ${'a'.repeat(3000)}. (1)`), undefined)
  assert.equal(parseBlockedLine('x IP 1.2.3.4.5 > 8.8.8.8.53: 1+ A? evil$(touch).com. (1)')?.destination, '8.8.8.8:53')
})

const notAllowed = (destination: string, allow = destination): BlockedAttempt => ({ destination, reason: 'not-allowed', allow })
const unresolved = (destination: string): BlockedAttempt => ({ destination, reason: 'unresolved' })
const restricted = (destination: string, allow: string): BlockedAttempt => ({ destination, reason: 'restricted', allow })
const dns = (destination: string): BlockedAttempt => ({ destination, reason: 'dns' })
const bypass = (destination: string): BlockedAttempt => ({ destination, reason: 'bypass' })

test('each reason has its advice: an --allow only where one would help, never for DNS or a way around the proxy', () => {
  assert.equal(advice(notAllowed('example.com')), 'allow with --allow example.com')
  assert.equal(advice(notAllowed('example.com:8443')), 'allow with --allow example.com:8443')
  assert.equal(
    advice(restricted('db.internal:5432', '10.0.0.5:5432')),
    'to let the agent reach that address on purpose: --allow 10.0.0.5:5432',
  )
  // An allowed name that did not resolve: already allowed, so no --allow.
  const ghost = advice(unresolved('github.com'))
  assert.equal(ghost, "github.com is allowed, but its name does not resolve on this machine: check the name, or this machine's DNS")
  assert.equal(advice(unresolved('[fd00::1]:8080')).startsWith('fd00::1 is allowed'), true)
  // DNS, to the host's resolver or any other: never "allow <resolver>:53".
  for (const attempt of [dns('example.com'), dns('8.8.8.8:53'), dns('127.0.0.11:53')]) {
    assert.equal(advice(attempt), "DNS is closed by design (realm's proxy resolves names): the tool must use HTTPS_PROXY")
  }
  assert.equal(
    advice(bypass('203.0.113.9:443')),
    "only realm's proxy leads out: the tool must use HTTPS_PROXY instead of connecting directly",
  )
  for (const attempt of [unresolved('github.com'), dns('8.8.8.8:53'), bypass('203.0.113.9:443')]) {
    assert.doesNotMatch(advice(attempt), /--allow/)
  }
})

test('the line: every destination with its reason, most frequent first; the advice is the first listed that an --allow opens', () => {
  assert.equal(blockedSummary([]), undefined)
  assert.equal(
    blockedSummary([restricted('10.0.0.5:5432', '10.0.0.5:5432'), notAllowed('example.com'), notAllowed('example.com')]),
    'realm: blocked 3 connections: example.com ×2 (not allowed), 10.0.0.5:5432 (host or private address) — allow with --allow example.com',
  )
  // DNS lookups outnumber the rest: still listed first, and the advice skips to what an --allow would open.
  assert.equal(
    blockedSummary([dns('8.8.8.8:53'), dns('8.8.8.8:53'), dns('8.8.8.8:53'), bypass('203.0.113.9:443'), notAllowed('evil.example')]),
    'realm: blocked 5 connections: 8.8.8.8:53 ×3 (DNS), 203.0.113.9:443 (around the proxy), evil.example (not allowed) — allow with --allow evil.example',
  )
  // Nothing an --allow would open: the first one's advice, and no --allow anywhere.
  const noAllow = blockedSummary([unresolved('github.com'), unresolved('github.com'), dns('github.com')])
  assert.equal(
    noAllow,
    "realm: blocked 3 connections: github.com ×2 (does not resolve), github.com (DNS) — github.com is allowed, but its name does not resolve on this machine: check the name, or this machine's DNS",
  )
  assert.equal(
    blockedSummary([dns('registry.npmjs.org')]),
    "realm: blocked 1 connection: registry.npmjs.org (DNS) — DNS is closed by design (realm's proxy resolves names): the tool must use HTTPS_PROXY",
  )
  const many = blockedSummary(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => bypass(`${x}:1`)))
  assert.match(
    many ?? '',
    /^realm: blocked 7 connections: a:1 \(around the proxy\), .*, e:1 \(around the proxy\), 2 more — only realm's proxy/,
  )
  // An allowable destination beyond the five shown is not the one advised.
  const hidden = blockedSummary([...['a', 'b', 'c', 'd', 'e'].map((x) => bypass(`${x}:1`)), notAllowed('late.example')])
  assert.doesNotMatch(hidden ?? '', /--allow/)
})

test("Claude Code's own background requests are left out: the line means the agent tried something", () => {
  const background = [
    notAllowed('api.anthropic.com'),
    notAllowed('statsig.anthropic.com'),
    dns('statsig.anthropic.com'),
    notAllowed('o1158394.ingest.us.sentry.io'),
    notAllowed('browser-intake-us5-datadoghq.com'),
    notAllowed('http-intake.logs.us5.datadoghq.com'),
    dns('downloads.claude.ai'),
  ]
  for (const attempt of background) assert.equal(isBackground(attempt), true, attempt.destination)
  assert.equal(blockedSummary(background), undefined)
  assert.equal(
    blockedSummary([...background, notAllowed('evil.example')]),
    'realm: blocked 1 connection: evil.example (not allowed) — allow with --allow evil.example',
  )
  // Only those names: a look-alike, or a way around the proxy to any address, is the agent's.
  for (const attempt of [notAllowed('api.anthropic.com.evil.example'), notAllowed('notsentry.io'), bypass('160.79.104.10:443')]) {
    assert.equal(isBackground(attempt), false, attempt.destination)
  }
})

test("the proxy's refusal says what the line says", () => {
  assert.equal(refusalText(notAllowed('example.com')), 'realm: example.com is blocked (not allowed) — allow with --allow example.com\n')
  assert.match(refusalText(unresolved('github.com')), /^realm: github.com is blocked \(does not resolve\) — github.com is allowed, but/)
})

test("packets to realm's own ports (a connection of the proxy's closing after the run) are not the agent's", async () => {
  const stdout = new PassThrough()
  const written: string[] = []
  const launched: Launched = {
    name: 'realm-net-test',
    running: true,
    stdout,
    stderr: new PassThrough(),
    exited: new Promise(() => undefined),
    write: (line) => written.push(line),
    end: () => undefined,
    kill: async () => undefined,
    unref: () => undefined,
  }
  const sidecar = configureSidecar(launched, '172.17.0.1', [41000, 41001])
  assert.deepEqual(written, ['172.17.0.1 41000 41001\n'])
  stdout.write('ready 172.17.0.1\n')
  await sidecar.ready
  stdout.write('12:00:00.1 IP 172.17.0.2.50000 > 172.17.0.1.41000: Flags [F.], seq 1, ack 1, length 0\n')
  stdout.write('12:00:00.2 IP 172.17.0.2.50002 > 172.17.0.1.5432: Flags [S], seq 1, length 0\n')
  stdout.write('12:00:00.3 IP 172.17.0.2.50001 > 172.17.0.1.41001: Flags [P.], seq 1:10, ack 1, length 9\n')
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(sidecar.blocked, [{ destination: '172.17.0.1:5432', reason: 'bypass' }])
})
