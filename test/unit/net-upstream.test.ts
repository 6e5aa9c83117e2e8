// The host's own proxy as realm reads it from its environment: which proxy for which kind of request, and
// what NO_PROXY sends around it.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { bypasses, proxyAuthorization, upstreamProxy } from '../../lib/net/upstream.ts'

test('NO_PROXY: a name, its subdomains, a leading dot or star, a port, an address, or everything', () => {
  const up = upstreamProxy({ https_proxy: 'corp:3128', NO_PROXY: 'example.com, .internal, *.corp, 10.0.0.5, svc:8080' })
  assert.ok(up)
  assert.equal(up.tunnel?.href, 'http://corp:3128/')
  assert.equal(up.plain, undefined)
  const by = (host: string, port = 443) => bypasses(up, host, port)
  assert.deepEqual(
    [
      by('example.com'),
      by('a.example.com'),
      by('notexample.com'),
      by('x.internal'),
      by('a.b.corp'),
      by('10.0.0.5'),
      by('svc', 8080),
      by('svc'),
    ],
    [true, true, false, true, true, true, true, false],
  )
  assert.equal(bypasses({ bypass: ['*'] }, 'anything', 1), true)
  assert.equal(upstreamProxy({}), undefined)
  assert.equal(upstreamProxy({ HTTPS_PROXY: 'socks5://corp:1080' }), undefined, 'only http(s) proxies')
})

test('credentials come from the proxy URL, decoded', () => {
  assert.equal(proxyAuthorization(new URL('http://corp:s%40cret@proxy:3128')), `Basic ${Buffer.from('corp:s@cret').toString('base64')}`)
  assert.equal(proxyAuthorization(new URL('http://proxy:3128')), undefined)
})
