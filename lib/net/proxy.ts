// realm's egress proxy, in realm's own process on the host: the agent's HTTP_PROXY / HTTPS_PROXY. It answers
// only requests carrying the run's token, lets through only destinations of the allowlist, resolves names
// itself and connects to the very address it checked (so a name cannot be re-resolved to somewhere else), and
// never connects to the host, its networks or its neighbours unless the user allowed that exact address.
// CONNECT tunnels (https, and anything else a client tunnels) and plain http requests in absolute form.
import { timingSafeEqual } from 'node:crypto'
import dns from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { Duplex } from 'node:stream'

import { restrictedReason } from './addresses.js'
import { type Listening, listen } from './listen.js'
import { type AllowEntry, isAllowed } from './policy.js'
import { type BlockedAttempt, refusalText } from './report.js'
import { bypasses, proxyAuthorization, tunnelThrough, type UpstreamProxy } from './upstream.js'

export type { BlockedAttempt } from './report.js'

export interface ProxyOptions {
  /** the address to listen on (the container's way to the host) */
  listen: string
  token: string
  allow: readonly AllowEntry[]
  /** destinations that are realm's own (the broker), let through whatever their address */
  own?: ReadonlyArray<{ host: string; port: number }>
  onBlocked: (attempt: BlockedAttempt) => void
  /** how names are resolved (tests give their own) */
  lookup?: (host: string) => Promise<string[]>
  /** the host's own proxy, to go out through (upstream.ts) */
  upstream?: UpstreamProxy
}

/** Where the proxy connects: an address it checked, or, through the host's proxy, the name it checked. */
interface Way {
  address: string
  via?: URL
}

/** `http://realm:<token>@<host>:<port>`, the value of the container's HTTP(S)_PROXY. */
export function proxyUrl(host: string, port: number, token: string): string {
  return `http://realm:${token}@${host.includes(':') ? `[${host}]` : host}:${port}`
}

function authorized(header: string | undefined, token: string): boolean {
  const match = /^basic\s+(\S+)$/i.exec(header ?? '')
  if (!match) return false
  const given = Buffer.from(match[1], 'base64')
  const want = Buffer.from(`realm:${token}`)
  return given.length === want.length && timingSafeEqual(given, want)
}

async function systemLookup(host: string): Promise<string[]> {
  return (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)
}

function label(host: string, port: number): string {
  const shown = host.includes(':') ? `[${host}]` : host
  return port === 443 || port === 80 ? shown : `${shown}:${port}`
}

/**
 * Where to connect for `host:port`, or the attempt to report. `via`: the host's proxy for this kind of request
 * (its tunnel or its plain-http proxy), unless NO_PROXY names the destination.
 */
async function decide(options: ProxyOptions, host: string, port: number, via: URL | undefined): Promise<Way | { blocked: BlockedAttempt }> {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (options.own?.some((own) => own.host === name && own.port === port)) return { address: name }
  if (via && options.upstream && bypasses(options.upstream, name, port)) via = undefined
  const destination = label(name, port)
  const exact = `${net.isIPv6(name) ? `[${name}]` : name}:${port}`
  if (!isAllowed(options.allow, name, port)) {
    // An address that is the host's own or private needs its exact address and port, whatever the port.
    if (net.isIP(name) && restrictedReason(name)) return { blocked: { destination, reason: 'restricted', allow: exact } }
    return { blocked: { destination, reason: 'not-allowed', allow: port === 443 || port === 80 ? destination : exact } }
  }
  // Only an allowed name is looked up: looking up any name the agent gives would be a way out through DNS.
  let addresses: string[]
  try {
    addresses = net.isIP(name) ? [name] : await (options.lookup ?? systemLookup)(name)
  } catch {
    addresses = []
  }
  // Behind a company's proxy the host often resolves no outside name: the host's proxy does.
  if (addresses.length === 0) return via ? { address: name, via } : { blocked: { destination, reason: 'unresolved' } }
  // One restricted address is enough to refuse: the name may be made to resolve to it next time. An address
  // the user allowed exactly, with this port, is theirs to reach.
  for (const address of addresses) {
    if (!isAllowed(options.allow, address, port) && restrictedReason(address)) {
      const shown = net.isIPv6(address) ? `[${address}]` : address
      return { blocked: { destination, reason: 'restricted', allow: `${shown}:${port}` } }
    }
  }
  // The host's proxy is asked for the name it may check itself; where that leads is its network's.
  return via ? { address: name, via } : { address: addresses[0] }
}

/** host and port of CONNECT's `host:port` or `[v6]:port`. */
function authority(target: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(target)
  if (!match) return undefined
  const port = Number(match[2])
  return port > 0 && port < 65536 ? { host: match[1], port } : undefined
}

/** An answer to a CONNECT, after which the connection closes (a client that tries again connects anew). */
function refuse(socket: Duplex, status: string, text: string, extra = ''): void {
  socket.end(
    `HTTP/1.1 ${status}\r\n${extra}content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  )
}

// The challenge a 407 must carry (RFC 9110, 11.7.1). Clients that let the proxy pick the scheme send their
// first request without credentials and give up when the 407 names none: git's libcurl
// (http.proxyAuthMethod=anyauth, its default) fails with "CONNECT tunnel failed, response 407".
const CHALLENGE = 'Basic realm="realm"'
const NEEDS_TOKEN = 'realm: this proxy needs the run token (the user:password of HTTP_PROXY)\n'

/** A refusal by the policy is 403; a name that does not resolve is the way on that failed, as any proxy says. */
function statusOf(attempt: BlockedAttempt): string {
  return attempt.reason === 'unresolved' ? '502 Bad Gateway' : '403 Forbidden'
}

// Hop-by-hop headers, and the proxy's own, are not forwarded.
const HOP = new Set([
  'proxy-authorization',
  'proxy-connection',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** A connection to `way`'s address, direct or tunnelled through the host's proxy; rejects when there is none. */
async function open(way: Way, port: number): Promise<Duplex> {
  if (way.via) {
    const { status, socket } = await tunnelThrough(way.via, way.address, port)
    if (status !== 200) {
      socket.destroy()
      throw new Error(`the host's proxy answered ${status}`)
    }
    return socket
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: way.address, port })
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

/** A plain http request in absolute form to the host's proxy, with its own credentials. */
function viaProxy(proxy: URL, method: string | undefined, target: string, headers: http.OutgoingHttpHeaders): http.ClientRequest {
  const auth = proxyAuthorization(proxy)
  return (proxy.protocol === 'https:' ? https : http).request({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)),
    method,
    path: target,
    headers: auth ? { ...headers, 'proxy-authorization': auth } : headers,
  })
}

export async function startProxy(options: ProxyOptions): Promise<Listening> {
  const sockets = new Set<Duplex>()
  const track = (socket: Duplex) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server = http.createServer()
  server.on('connection', track)

  server.on('connect', async (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    track(client)
    if (!authorized(req.headers['proxy-authorization'], options.token)) {
      refuse(client, '407 Proxy Authentication Required', NEEDS_TOKEN, `proxy-authenticate: ${CHALLENGE}\r\n`)
      return
    }
    const target = authority(req.url ?? '')
    if (!target) return refuse(client, '400 Bad Request', 'realm: CONNECT needs host:port\n')
    const decision = await decide(options, target.host, target.port, options.upstream?.tunnel)
    if ('blocked' in decision) {
      options.onBlocked(decision.blocked)
      return refuse(client, statusOf(decision.blocked), refusalText(decision.blocked))
    }
    const shown = label(target.host, target.port)
    let upstream: Duplex
    try {
      upstream = await open(decision, target.port)
    } catch {
      return refuse(client, '502 Bad Gateway', `realm: cannot connect to ${shown}${decision.via ? " through the host's proxy" : ''}\n`)
    }
    track(upstream)
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length) upstream.write(head)
    upstream.pipe(client)
    client.pipe(upstream)
    upstream.on('error', () => client.destroy())
    client.once('close', () => upstream.destroy())
    upstream.once('close', () => client.destroy())
  })

  server.on('request', async (req, res) => {
    if (!authorized(req.headers['proxy-authorization'], options.token)) {
      res.writeHead(407, { 'proxy-authenticate': CHALLENGE, 'content-type': 'text/plain' })
      res.end(NEEDS_TOKEN)
      return
    }
    let url: URL
    try {
      url = new URL(req.url ?? '')
      if (url.protocol !== 'http:') throw new Error('not http')
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('realm: a proxy request names an absolute http:// URL\n')
      return
    }
    const port = Number(url.port || 80)
    const decision = await decide(options, url.hostname, port, options.upstream?.plain)
    if ('blocked' in decision) {
      options.onBlocked(decision.blocked)
      res.writeHead(Number.parseInt(statusOf(decision.blocked), 10), { 'content-type': 'text/plain' }).end(refusalText(decision.blocked))
      return
    }
    const headers: http.OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(req.headers)) if (!HOP.has(name) && value !== undefined) headers[name] = value
    headers.host = url.host
    const upstream = decision.via
      ? viaProxy(decision.via, req.method, `http://${url.host}${url.pathname}${url.search}`, headers)
      : http.request({ host: decision.address, port, method: req.method, path: `${url.pathname}${url.search}`, headers })
    upstream.on('response', (response) => {
      const back: http.OutgoingHttpHeaders = {}
      for (const [name, value] of Object.entries(response.headers)) if (!HOP.has(name) && value !== undefined) back[name] = value
      res.writeHead(response.statusCode ?? 502, back)
      response.pipe(res)
    })
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`realm: cannot reach ${url.host}\n`)
    })
    req.pipe(upstream)
  })

  return listen(server, options.listen, sockets)
}
