// The credential broker: the model API as the agent sees it, served from realm's own process on the host. The
// container holds placeholders and a base URL with the run's token in its path; the broker answers only that
// path, swaps each placeholder for the user's real credential, and forwards everything else untouched to the
// real upstream (every endpoint, every method), streaming both ways as bytes arrive, so server-sent events
// reach the agent without delay. The real values never enter the container. When realm exits the broker goes
// with it, and the token it honoured is worthless.
import { timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'

import { type Listening, listen } from './listen.js'

/** The credentials Claude Code reads from its environment, each with the header it travels in. */
const CREDENTIALS = {
  ANTHROPIC_API_KEY: { header: 'x-api-key', bearer: false },
  ANTHROPIC_AUTH_TOKEN: { header: 'authorization', bearer: true },
  CLAUDE_CODE_OAUTH_TOKEN: { header: 'authorization', bearer: true },
} as const
export type CredentialName = keyof typeof CREDENTIALS
export const CREDENTIAL_NAMES = Object.keys(CREDENTIALS) as CredentialName[]

/**
 * What the container gets instead of each credential. Fixed, so that Claude Code, which asks once per key
 * whether to use a key it finds in its environment, asks once and never again; shaped like the real thing, so
 * that it takes the same path as with the user's own.
 */
export const PLACEHOLDERS: Record<CredentialName, string> = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-realm-placeholder-the-broker-on-the-host-adds-the-real-key-00000000AA',
  ANTHROPIC_AUTH_TOKEN: 'realm-placeholder-the-broker-on-the-host-adds-the-real-token',
  CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-realm-placeholder-the-broker-on-the-host-adds-the-real-token',
}

export const DEFAULT_UPSTREAM = 'https://api.anthropic.com'

/** The user's credentials from the environment: name → real value. */
export function hostCredentials(env: NodeJS.ProcessEnv): Partial<Record<CredentialName, string>> {
  const found: Partial<Record<CredentialName, string>> = {}
  for (const name of CREDENTIAL_NAMES) if (env[name]) found[name] = env[name]
  return found
}

export interface BrokerOptions {
  listen: string
  /** which peers may connect (all, when absent): fromThisMachine in addresses.ts */
  accept?: (peer: string | undefined) => boolean
  token: string
  /** the real API's base URL */
  upstream: string
  credentials: Partial<Record<CredentialName, string>>
  /** how to reach an https upstream (through the host's proxy: upstream.ts), else directly */
  agent?: https.Agent
}

/** The container's ANTHROPIC_BASE_URL: the broker, with the run's token as the first path segment. */
export function brokerUrl(host: string, port: number, token: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/${token}`
}

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
])

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The request's headers for the upstream: hop-by-hop ones dropped, each placeholder replaced by the real value. */
export function upstreamHeaders(
  headers: http.IncomingHttpHeaders,
  credentials: Partial<Record<CredentialName, string>>,
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) if (!HOP.has(name) && value !== undefined) out[name] = value
  for (const name of CREDENTIAL_NAMES) {
    const { header, bearer } = CREDENTIALS[name]
    const placeholder = bearer ? `Bearer ${PLACEHOLDERS[name]}` : PLACEHOLDERS[name]
    const given = out[header]
    if (typeof given !== 'string' || !sameText(given, placeholder)) continue
    const real = credentials[name]
    if (real === undefined) delete out[header]
    else out[header] = bearer ? `Bearer ${real}` : real
  }
  return out
}

function apiError(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ type: 'error', error: { type: status === 404 ? 'not_found_error' : 'api_error', message } }))
}

export async function startBroker(options: BrokerOptions): Promise<Listening> {
  const upstream = new URL(options.upstream)
  const base = upstream.pathname.replace(/\/+$/, '')
  const client = upstream.protocol === 'https:' ? https : http
  const prefix = `/${options.token}`
  const sockets = new Set<Duplex>()

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    const rest = url.slice(prefix.length)
    if (!sameText(url.slice(0, prefix.length), prefix) || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?'))) {
      apiError(res, 404, 'realm broker: unknown path')
      return
    }
    const forward = client.request({
      agent: upstream.protocol === 'https:' ? options.agent : undefined,
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port || undefined,
      method: req.method,
      path: `${base}${rest.startsWith('/') ? rest : `/${rest}`}`,
      headers: { ...upstreamHeaders(req.headers, options.credentials), host: upstream.host },
    })
    forward.on('response', (response) => {
      const back: http.OutgoingHttpHeaders = {}
      for (const [name, value] of Object.entries(response.headers)) if (!HOP.has(name) && value !== undefined) back[name] = value
      res.writeHead(response.statusCode ?? 502, back)
      res.flushHeaders()
      response.pipe(res)
      response.on('error', () => res.destroy())
    })
    forward.on('error', (error) => apiError(res, 502, `realm broker: cannot reach ${upstream.host} (${error.message})`))
    req.pipe(forward)
    res.on('close', () => forward.destroy())
  })
  return listen(server, options.listen, sockets, options.accept)
}
