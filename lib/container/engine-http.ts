// The engine's API over HTTP where realm can speak to it directly: its local socket (engine-api.ts's), or a plain
// tcp:// DOCKER_HOST (no TLS). A remote engine is asked the same few questions on every run (its ID, the image,
// the container's state) and sent and read archives: each through the CLI is a process of its own, here a
// request. Anything else (ssh://, TLS, a context) goes through the CLI, which reaches every engine the user has.
import http from 'node:http'
import type { Readable } from 'node:stream'

import { engineSocket } from './engine-api.js'

/** The engine's socket path, or `tcp://host:port`; undefined when only the CLI can reach it. */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const socket = engineSocket(env)
  if (socket) return socket
  if (env.DOCKER_CONTEXT || env.DOCKER_TLS_VERIFY || env.DOCKER_CERT_PATH) return undefined
  return env.DOCKER_HOST && /^tcp:\/\/[^/]+:\d+\/?$/.test(env.DOCKER_HOST) ? env.DOCKER_HOST : undefined
}

function target(endpoint: string): http.RequestOptions {
  if (!endpoint.startsWith('tcp://')) return { socketPath: endpoint }
  const url = new URL(endpoint.replace(/^tcp:/, 'http:'))
  return { host: url.hostname, port: Number(url.port) }
}

export interface HttpAnswer {
  status: number
  body: string
}

/**
 * One request; `body` a string (JSON) or a stream of bytes (an archive). Rejects when the engine does not answer
 * within `timeoutMs` of quiet.
 */
export function engineHttp(
  endpoint: string,
  method: string,
  urlPath: string,
  body?: string | AsyncIterable<Buffer>,
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> =
      typeof body === 'string'
        ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
        : body
          ? { 'content-type': 'application/x-tar' }
          : {}
    const request = http.request({ ...target(endpoint), method, path: urlPath, timeout: timeoutMs, headers }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        if (text.length < 1 << 20) text += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
    request.on('timeout', () => request.destroy(new Error('the engine did not answer')))
    request.on('error', reject)
    if (typeof body === 'string' || body === undefined) {
      request.end(body)
      return
    }
    void (async () => {
      try {
        for await (const chunk of body) if (!request.write(chunk)) await new Promise((r) => request.once('drain', r))
        request.end()
      } catch (error) {
        request.destroy(error as Error)
      }
    })()
  })
}

/** A GET whose answer is a stream (an archive): the status, and the body to read. */
export function engineDownload(endpoint: string, urlPath: string): Promise<{ status: number; stream: Readable; abort: () => void }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ ...target(endpoint), method: 'GET', path: urlPath }, (response) => {
      resolve({ status: response.statusCode ?? 0, stream: response, abort: () => request.destroy() })
    })
    request.on('error', reject)
    request.end()
  })
}

/** The engine's own words for a failed call. */
export function engineMessage(answer: HttpAnswer): string {
  try {
    return String((JSON.parse(answer.body) as { message?: unknown }).message ?? answer.body).trim()
  } catch {
    return answer.body.trim() || `status ${answer.status}`
  }
}
