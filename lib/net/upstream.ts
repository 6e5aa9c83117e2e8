// The host's own proxy, for realm's proxy to go out through: a company network that lets the host out only
// through its proxy (HTTPS_PROXY / HTTP_PROXY, with NO_PROXY, as curl reads them) has realm's proxy tunnel
// through it too, so the agent's allowed destinations stay reachable. What the agent may reach is still
// realm's to decide first; the host's proxy only carries what realm let through.
import https from 'node:https'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'

export interface UpstreamProxy {
  /** for CONNECT tunnels (https, and anything a client tunnels): HTTPS_PROXY */
  tunnel?: URL
  /** for plain http requests: HTTP_PROXY */
  plain?: URL
  /** NO_PROXY's entries, lowercased: destinations reached directly */
  bypass: string[]
}

function proxyUrl(value: string | undefined): URL | undefined {
  if (!value) return undefined
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined
  } catch {
    return undefined
  }
}

/** The host's proxy from its environment (lowercase names first, as curl reads them), or undefined. */
export function upstreamProxy(env: NodeJS.ProcessEnv): UpstreamProxy | undefined {
  const tunnel = proxyUrl(env.https_proxy || env.HTTPS_PROXY)
  const plain = proxyUrl(env.http_proxy || env.HTTP_PROXY)
  if (!tunnel && !plain) return undefined
  const bypass = (env.no_proxy ?? env.NO_PROXY ?? '')
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)
  return { tunnel, plain, bypass }
}

/** Whether NO_PROXY sends `host:port` around the host's proxy: `*`, the name, a parent domain, an address. */
export function bypasses(upstream: UpstreamProxy, host: string, port: number): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '')
  return upstream.bypass.some((entry) => {
    if (entry === '*') return true
    let pattern = entry.replace(/^\[|\]$/g, '')
    const withPort = /^(.*[^:]):(\d+)$/.exec(entry)
    if (withPort && !net.isIPv6(pattern)) {
      if (Number(withPort[2]) !== port) return false
      pattern = withPort[1]
    }
    pattern = pattern.replace(/^\*?\./, '')
    return name === pattern || name.endsWith(`.${pattern}`)
  })
}

/** `Basic …` for a proxy URL's user:password, or undefined. */
export function proxyAuthorization(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  return `Basic ${Buffer.from(pair).toString('base64')}`
}

const HEAD_LIMIT = 16 * 1024

/**
 * A tunnel to `host:port` through the host's proxy: its answer's status line, once the head has arrived, and
 * the socket (anything after the head already pushed back onto it). Rejects when it cannot be reached.
 */
export function tunnelThrough(proxy: URL, host: string, port: number): Promise<{ status: number; socket: Duplex }> {
  return new Promise((resolve, reject) => {
    const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80))
    const socket: net.Socket =
      proxy.protocol === 'https:'
        ? tls.connect({ host: proxy.hostname, port: proxyPort, servername: net.isIP(proxy.hostname) ? undefined : proxy.hostname })
        : net.connect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: proxyPort })
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`
    const auth = proxyAuthorization(proxy)
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`)
    })
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) {
        if (head.length > HEAD_LIMIT) fail(new Error('the upstream proxy sent no answer'))
        return
      }
      socket.off('data', onData)
      socket.off('error', fail)
      socket.off('close', closed)
      socket.pause()
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0)
      const rest = head.subarray(end + 4)
      if (rest.length) socket.unshift(rest)
      resolve({ status, socket })
    }
    const fail = (error: Error) => {
      socket.destroy()
      reject(error)
    }
    const closed = () => fail(new Error('the upstream proxy closed the connection'))
    socket.on('data', onData)
    socket.once('error', fail)
    socket.once('close', closed)
  })
}

/**
 * An https agent whose connections are tunnels through the host's proxy, TLS running inside them end to end:
 * the broker's way to the model API on a network that lets the host out only through its proxy.
 */
export function tunnelAgent(proxy: URL, options: https.AgentOptions = {}): https.Agent {
  const agent = new https.Agent({ keepAlive: true, ...options })
  // The agent asks for each connection with a callback: a tunnel is ready only once the proxy said 200.
  const create = (options: https.RequestOptions & tls.ConnectionOptions, done: (error: Error | null, socket?: Duplex) => void) => {
    const host = String(options.host ?? options.hostname ?? '')
    const port = Number(options.port ?? 443)
    tunnelThrough(proxy, host, port).then(
      ({ status, socket }) => {
        if (status !== 200) {
          socket.destroy()
          return done(new Error(`the host's proxy answered ${status} to CONNECT ${host}:${port}`))
        }
        done(
          null,
          tls.connect({ ...options, socket: socket as net.Socket, servername: options.servername ?? (net.isIP(host) ? undefined : host) }),
        )
      },
      (error: Error) => done(error),
    )
    return undefined
  }
  Object.assign(agent, { createConnection: create })
  return agent
}
