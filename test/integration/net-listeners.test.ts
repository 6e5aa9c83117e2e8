// The broker and the proxy as the container meets them, with real sockets on loopback: the token is required,
// the placeholder becomes the real credential only on the way out, server-sent events arrive one by one, and
// the proxy lets through only what the allowlist names, never the host's own addresses unless allowed exactly.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { execa } from 'execa'

import { brokerUrl, PLACEHOLDERS, startBroker } from '../../lib/net/broker.ts'
import { parseAllowEntry } from '../../lib/net/policy.ts'
import { type BlockedAttempt, startProxy } from '../../lib/net/proxy.ts'
import { tunnelAgent, upstreamProxy } from '../../lib/net/upstream.ts'
import { tempDir } from '../helpers/temp.ts'

let upstream: http.Server
let upstreamPort: number
const seen: http.IncomingHttpHeaders[] = []

before(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(req.headers)
    if (req.url?.startsWith('/base/v1/stream')) {
      // Three events, 150 ms apart: a buffering broker would deliver them all at once at the end.
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let n = 0
      const timer = setInterval(() => {
        res.write(`event: tick\ndata: ${n}\n\n`)
        if (++n === 3) {
          clearInterval(timer)
          res.end()
        }
      }, 150)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, method: req.method }))
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  upstreamPort = (upstream.address() as AddressInfo).port
})
after(() => upstream.close())

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers })
  return { status: response.status, body: await response.text() }
}

test('the broker: token in the path, placeholder swapped for the real key, path and method forwarded', async () => {
  const broker = await startBroker({
    listen: '127.0.0.1',
    token: 'tok',
    upstream: `http://127.0.0.1:${upstreamPort}/base`,
    credentials: { ANTHROPIC_API_KEY: 'sk-real-SENTINEL' },
  })
  try {
    const base = brokerUrl('127.0.0.1', broker.port, 'tok')
    seen.length = 0
    const ok = await get(`${base}/v1/messages?beta=true`, { 'x-api-key': PLACEHOLDERS.ANTHROPIC_API_KEY })
    assert.equal(ok.status, 200)
    assert.deepEqual(JSON.parse(ok.body), { path: '/base/v1/messages?beta=true', method: 'GET' })
    assert.equal(seen[0]['x-api-key'], 'sk-real-SENTINEL')
    // Any other value (a key helper's, the user's own) passes as it is: the broker only swaps its placeholder.
    await get(`${base}/v1/x`, { 'x-api-key': 'sk-from-helper' })
    assert.equal(seen[1]['x-api-key'], 'sk-from-helper')
    // No token, a wrong one, or one that is only a prefix: nothing reaches the upstream.
    for (const url of [
      `http://127.0.0.1:${broker.port}/v1/messages`,
      `http://127.0.0.1:${broker.port}/tok2/v1/messages`,
      `http://127.0.0.1:${broker.port}/to/v1`,
    ]) {
      assert.equal((await get(url, { 'x-api-key': PLACEHOLDERS.ANTHROPIC_API_KEY })).status, 404, url)
    }
    assert.equal(seen.length, 2)
  } finally {
    await broker.close()
  }
})

test('the broker: an OAuth token travels as a bearer; events stream as they come', async () => {
  const broker = await startBroker({
    listen: '127.0.0.1',
    token: 'tok',
    upstream: `http://127.0.0.1:${upstreamPort}/base`,
    credentials: { CLAUDE_CODE_OAUTH_TOKEN: 'oat-real' },
  })
  try {
    seen.length = 0
    const response = await fetch(`${brokerUrl('127.0.0.1', broker.port, 'tok')}/v1/stream`, {
      headers: { authorization: `Bearer ${PLACEHOLDERS.CLAUDE_CODE_OAUTH_TOKEN}` },
    })
    const arrivals: number[] = []
    const started = Date.now()
    assert.ok(response.body, 'a streamed body')
    for await (const chunk of response.body) if (String(Buffer.from(chunk)).includes('tick')) arrivals.push(Date.now() - started)
    assert.equal(seen[0].authorization, 'Bearer oat-real')
    assert.ok(arrivals.length >= 2, `events arrived in ${arrivals.length} piece(s)`)
    assert.ok(arrivals[arrivals.length - 1] - arrivals[0] >= 200, `spread ${arrivals.join(', ')} ms`)
  } finally {
    await broker.close()
  }
})

/** A raw CONNECT through the proxy: the status line it answers (the whole head in `heads`). */
function connect(port: number, target: string, auth?: string, heads: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth ? `Proxy-Authorization: Basic ${Buffer.from(auth).toString('base64')}\r\n` : ''}\r\n`,
      )
    })
    socket.once('data', (data) => {
      heads.push(String(data).split('\r\n\r\n')[0])
      resolve(String(data).split('\r\n')[0])
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

test('the proxy: the token is required; allowed names pass; restricted addresses need an exact --allow', async () => {
  const blocked: BlockedAttempt[] = []
  const names: Record<string, string[]> = {
    'public.example': ['198.18.0.2'],
    'sneaky.example': ['127.0.0.1'],
    'upstream.example': ['127.0.0.1'],
  }
  const proxy = await startProxy({
    listen: '127.0.0.1',
    token: 'ptok',
    allow: [
      'public.example',
      'sneaky.example',
      'ghost.example',
      `upstream.example:${upstreamPort}`,
      `127.0.0.1:${upstreamPort}`,
      '10.0.0.9:5432',
    ].map((e) => parseAllowEntry(e, 'test')),
    onBlocked: (attempt) => blocked.push(attempt),
    lookup: async (host) => names[host] ?? Promise.reject(new Error('ENOTFOUND')),
  })
  try {
    const auth = 'realm:ptok'
    // A 407 names its scheme: clients that wait for the challenge (git's libcurl) answer it with the token.
    const heads: string[] = []
    assert.match(await connect(proxy.port, 'public.example:443', undefined, heads), / 407 /)
    assert.match(heads[0], /^proxy-authenticate: Basic realm="realm"$/im)
    assert.match(await connect(proxy.port, 'public.example:443', 'realm:wrong'), / 407 /)
    assert.match(await connect(proxy.port, 'not-allowed.example:443', auth), / 403 /)
    assert.match(await connect(proxy.port, 'sneaky.example:443', auth), / 403 /, 'a name that resolves to loopback')
    assert.match(await connect(proxy.port, `127.0.0.1:${upstreamPort + 1}`, auth), / 403 /)
    assert.match(
      await connect(proxy.port, `upstream.example:${upstreamPort}`, auth),
      / 200 /,
      'an allowed name, resolving to an address allowed exactly',
    )
    assert.match(await connect(proxy.port, `127.0.0.1:${upstreamPort}`, auth), / 200 /, 'the exact address the user allowed')
    assert.match(await connect(proxy.port, 'ghost.example:443', auth), / 502 /, 'an allowed name that does not resolve')
    assert.deepEqual(
      blocked.map((b) => [b.destination, b.reason, b.allow]),
      [
        ['not-allowed.example', 'not-allowed', 'not-allowed.example'],
        ['sneaky.example', 'restricted', '127.0.0.1:443'],
        [`127.0.0.1:${upstreamPort + 1}`, 'restricted', `127.0.0.1:${upstreamPort + 1}`],
        ['ghost.example', 'unresolved', undefined],
      ],
    )
    // A plain http request in absolute form, through to the allowed address.
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(
          {
            host: '127.0.0.1',
            port: proxy.port,
            path: `http://127.0.0.1:${upstreamPort}/plain`,
            headers: { 'proxy-authorization': `Basic ${Buffer.from(auth).toString('base64')}` },
          },
          (res) => {
            let text = ''
            res.on('data', (c) => (text += c))
            res.on('end', () => resolve(text))
          },
        )
        .on('error', reject)
    })
    assert.deepEqual(JSON.parse(body), { path: '/plain', method: 'GET' })
    assert.equal(seen.at(-1)?.['proxy-authorization'], undefined, 'the proxy token never travels on')
  } finally {
    await proxy.close()
  }
})

test("the proxy: libcurl that lets the proxy pick the scheme (git's default) gets the challenge and tunnels through", async (t) => {
  const curl = await execa('curl', ['--version'], { reject: false })
  if (curl.exitCode !== 0) return t.skip('no curl on this machine')
  const proxy = await startProxy({
    listen: '127.0.0.1',
    token: 'ptok',
    allow: [parseAllowEntry(`127.0.0.1:${upstreamPort}`, 'test')],
    onBlocked: () => undefined,
  })
  try {
    // --proxy-anyauth: the first CONNECT goes without credentials, as git's (http.proxyAuthMethod=anyauth) does.
    const through = (...flags: string[]) =>
      execa(
        'curl',
        ['-sS', '-p', ...flags, '-x', `http://realm:ptok@127.0.0.1:${proxy.port}`, `http://127.0.0.1:${upstreamPort}/tunnelled`],
        { reject: false },
      )
    const anyauth = await through('--proxy-anyauth')
    assert.equal(anyauth.exitCode, 0, anyauth.stderr)
    assert.deepEqual(JSON.parse(anyauth.stdout), { path: '/tunnelled', method: 'GET' })
    // A plain http request, not tunnelled: the challenge, then the same request with the token.
    const plain = await execa(
      'curl',
      ['-sS', '--proxy-anyauth', '-x', `http://realm:ptok@127.0.0.1:${proxy.port}`, `http://127.0.0.1:${upstreamPort}/plain-anyauth`],
      { reject: false },
    )
    assert.equal(plain.exitCode, 0, plain.stderr)
    assert.deepEqual(JSON.parse(plain.stdout), { path: '/plain-anyauth', method: 'GET' })
    const wrong = await execa(
      'curl',
      ['-sS', '-p', '--proxy-anyauth', '-x', `http://realm:nope@127.0.0.1:${proxy.port}`, `http://127.0.0.1:${upstreamPort}/`],
      { reject: false },
    )
    assert.notEqual(wrong.exitCode, 0, 'a wrong token is still refused')
    assert.match(wrong.stderr, /407/)
  } finally {
    await proxy.close()
  }
})

test("the proxy through the host's own proxy: tunnels and plain requests go by name, with its credentials; NO_PROXY goes direct", async () => {
  // The host's proxy: it records what it is asked for and carries it to the test's upstream server.
  const asked: string[] = []
  const corp = http.createServer((req, res) => {
    asked.push(`${req.method} ${req.url} ${req.headers['proxy-authorization'] ?? ''}`)
    const target = new URL(req.url ?? '')
    const forward = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: target.pathname }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    req.pipe(forward)
  })
  corp.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    asked.push(`CONNECT ${req.url} ${req.headers['proxy-authorization'] ?? ''}`)
    if (req.url?.startsWith('refused.example')) return void client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n')
    const out = net.connect(upstreamPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      out.pipe(client)
      client.pipe(out)
    })
  })
  await new Promise<void>((resolve) => corp.listen(0, '127.0.0.1', resolve))
  const corpUrl = `http://corp:s%40cret@127.0.0.1:${(corp.address() as AddressInfo).port}`
  const blocked: BlockedAttempt[] = []
  const proxy = await startProxy({
    listen: '127.0.0.1',
    token: 'ptok',
    allow: ['outside.example', 'refused.example', 'sneaky.example', `127.0.0.1:${upstreamPort}`].map((e) => parseAllowEntry(e, 'test')),
    onBlocked: (attempt) => blocked.push(attempt),
    // This host resolves no outside name; sneaky.example resolves to its loopback.
    lookup: async (host) => (host === 'sneaky.example' ? ['127.0.0.1'] : Promise.reject(new Error('ENOTFOUND'))),
    upstream: upstreamProxy({ HTTPS_PROXY: corpUrl, HTTP_PROXY: corpUrl, NO_PROXY: 'localhost,127.0.0.1' }),
  })
  try {
    const auth = 'realm:ptok'
    const basic = `Basic ${Buffer.from('corp:s@cret').toString('base64')}`
    assert.match(await connect(proxy.port, 'outside.example:443', auth), / 200 /, 'a name this host cannot resolve, by name')
    assert.match(await connect(proxy.port, 'refused.example:443', auth), / 502 /, "the host's proxy refused it")
    assert.match(await connect(proxy.port, 'sneaky.example:443', auth), / 403 /, 'a name that resolves here to loopback')
    assert.match(await connect(proxy.port, 'elsewhere.example:443', auth), / 403 /, 'not allowed: the host proxy is never asked')
    assert.match(await connect(proxy.port, `127.0.0.1:${upstreamPort}`, auth), / 200 /, 'NO_PROXY names it: direct')
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(
          {
            host: '127.0.0.1',
            port: proxy.port,
            path: 'http://outside.example/plain',
            headers: { 'proxy-authorization': `Basic ${Buffer.from(auth).toString('base64')}` },
          },
          (res) => {
            let text = ''
            res.on('data', (c) => (text += c))
            res.on('end', () => resolve(text))
          },
        )
        .on('error', reject)
    })
    assert.deepEqual(JSON.parse(body), { path: '/plain', method: 'GET' })
    assert.deepEqual(asked, [
      `CONNECT outside.example:443 ${basic}`,
      `CONNECT refused.example:443 ${basic}`,
      `GET http://outside.example/plain ${basic}`,
    ])
    assert.deepEqual(
      blocked.map((b) => [b.destination, b.reason]),
      [
        ['sneaky.example', 'restricted'],
        ['elsewhere.example', 'not-allowed'],
      ],
    )
  } finally {
    await proxy.close()
    corp.close()
  }
})

test("the broker through the host's own proxy: a tunnel, TLS inside it end to end", async (t) => {
  const tmp = await tempDir('realm-broker-tunnel-')
  try {
    const key = path.join(tmp.path, 'key.pem')
    const cert = path.join(tmp.path, 'cert.pem')
    const made = await execa(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=api.example',
        '-addext',
        'subjectAltName=DNS:api.example',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { reject: false },
    )
    if (made.exitCode !== 0) return t.skip('no openssl on this machine')
    const api = https.createServer({ key: await fs.readFile(key), cert: await fs.readFile(cert) }, (req, res) =>
      res.end(JSON.stringify({ path: req.url, key: req.headers['x-api-key'] })),
    )
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    const apiPort = (api.address() as AddressInfo).port
    // The host's proxy: every name it is asked for leads to the test's API.
    const asked: string[] = []
    const corp = http.createServer()
    corp.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      asked.push(String(req.url))
      const out = net.connect(apiPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        out.pipe(client)
        client.pipe(out)
      })
    })
    await new Promise<void>((resolve) => corp.listen(0, '127.0.0.1', resolve))
    const broker = await startBroker({
      listen: '127.0.0.1',
      token: 'tok',
      upstream: 'https://api.example/base',
      credentials: { ANTHROPIC_API_KEY: 'sk-real-SENTINEL' },
      agent: tunnelAgent(new URL(`http://127.0.0.1:${(corp.address() as AddressInfo).port}`), { ca: await fs.readFile(cert) }),
    })
    try {
      const answer = await get(`${brokerUrl('127.0.0.1', broker.port, 'tok')}/v1/messages`, { 'x-api-key': PLACEHOLDERS.ANTHROPIC_API_KEY })
      assert.equal(answer.status, 200, answer.body)
      assert.deepEqual(JSON.parse(answer.body), { path: '/base/v1/messages', key: 'sk-real-SENTINEL' })
      assert.deepEqual(asked, ['api.example:443'], 'the API reached by name, through the tunnel')
    } finally {
      await broker.close()
      api.close()
      corp.close()
    }
  } finally {
    await tmp.cleanup()
  }
})
