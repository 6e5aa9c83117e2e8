// The engine's API on its socket (engineSocket says when realm can reach it there): asking it costs a
// few milliseconds where every docker CLI call costs tens. Used for the image check before every run, the
// engine's facts, and the network sidecar, whose start lies on the path to the agent's: created, attached to and
// started here, its stdin is this process's attach connection, so when realm closes it or dies the engine closes
// the sidecar's stdin (StdinOnce), as `docker run -i` does when its client goes.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { Socket } from 'node:net'
import { PassThrough } from 'node:stream'

import { engineProgram } from './engine-cli.js'

/**
 * The engine's socket when realm can ask it directly: DOCKER_HOST unset or unix://, and no other context
 * chosen (`docker context use` or DOCKER_CONTEXT). Anything else goes through the engine's CLI, as does Podman's
 * own CLI (REALM_ENGINE=podman).
 */
export function engineSocket(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string | undefined {
  // Podman's CLI reads neither DOCKER_HOST nor Docker's contexts: whatever socket they name is not its engine.
  if (engineProgram(env) === 'podman') return undefined
  if (env.DOCKER_CONTEXT) return undefined
  if (env.DOCKER_HOST) return env.DOCKER_HOST.startsWith('unix://') ? env.DOCKER_HOST.slice('unix://'.length) : undefined
  try {
    const config = JSON.parse(readFileSync(path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'), 'utf8')) as {
      currentContext?: string
    }
    if (config.currentContext && config.currentContext !== 'default') return undefined
  } catch {
    // no CLI configuration: the default context
  }
  return '/var/run/docker.sock'
}

export interface Answer {
  status: number
  body: string
}

/**
 * One request to the engine's API; rejects when the engine does not answer within `timeoutMs`. `background`:
 * the request does not keep realm running (the engine carries out a create or a start it was sent anyway).
 */
export function engineRequest(
  socket: string,
  method: string,
  urlPath: string,
  body?: unknown,
  timeoutMs = 30_000,
  background = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const request = http.request(
      {
        socketPath: socket,
        method,
        path: urlPath,
        timeout: timeoutMs,
        headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        // The whole answer: a container's or the engine's description is JSON of a few kilobytes, which may
        // come in several chunks.
        response.on('data', (chunk: string) => {
          text += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
      },
    )
    request.on('timeout', () => request.destroy(new Error('the engine did not answer')))
    request.on('error', reject)
    if (background) request.on('socket', (connection) => connection.unref())
    request.end(data)
  })
}

/** The engine's own words for a failed call. */
function refusal(what: string, answer: Answer): Error {
  let message = answer.body.trim()
  try {
    message = String((JSON.parse(answer.body) as { message?: unknown }).message ?? message)
  } catch {
    // not JSON: the text as it came
  }
  return new Error(`${what}: ${message || `status ${answer.status}`}`)
}

export async function createContainer(socket: string, name: string, spec: Record<string, unknown>, background = false): Promise<void> {
  const answer = await engineRequest(socket, 'POST', `/containers/create?name=${encodeURIComponent(name)}`, spec, 30_000, background)
  if (answer.status !== 201) throw refusal('cannot create the sidecar', answer)
}

export async function startContainer(socket: string, name: string, background = false): Promise<void> {
  const answer = await engineRequest(socket, 'POST', `/containers/${encodeURIComponent(name)}/start`, undefined, 30_000, background)
  if (answer.status !== 204 && answer.status !== 304) throw refusal('cannot start the sidecar', answer)
}

export async function removeContainer(socket: string, name: string): Promise<void> {
  await engineRequest(socket, 'DELETE', `/containers/${encodeURIComponent(name)}?force=1`).catch(() => undefined)
}

export interface Attached {
  /** the container's stdout */
  stdout: PassThrough
  /** the container's stderr */
  stderr: PassThrough
  /** the attach connection: its end is the container's stdin's end */
  connection: Socket
}

/** Attaches to the container's stdin, stdout and stderr (before its start, so that no line is lost). */
export function attachContainer(socket: string, name: string): Promise<Attached> {
  return hijack(socket, `/containers/${encodeURIComponent(name)}/attach?stream=1&stdin=1&stdout=1&stderr=1`, undefined, 'attach to')
}

/**
 * Runs `cmd` in the running container `name` (docker exec -i), with the container's own capabilities (as `user`
 * when given), and resolves once it runs, with its streams: its stdin ends when the connection does, realm's end
 * or realm's death.
 */
export async function execInContainer(socket: string, name: string, cmd: string[], user?: string): Promise<Attached> {
  return startExec(socket, await createExec(socket, name, cmd, { user }))
}

/**
 * Makes `cmd` ready to run in the running container `name` as execInContainer runs it, to be started by startExec
 * (at once, or by a later run); its id. `background`: the request does not keep realm running.
 */
export async function createExec(
  socket: string,
  name: string,
  cmd: string[],
  options: { user?: string; background?: boolean } = {},
): Promise<string> {
  const created = await engineRequest(
    socket,
    'POST',
    `/containers/${encodeURIComponent(name)}/exec`,
    { Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false, ...(options.user ? { User: options.user } : {}) },
    30_000,
    options.background,
  )
  if (created.status !== 201) throw refusal('cannot run in the sidecar', created)
  const { Id } = JSON.parse(created.body) as { Id: unknown }
  if (typeof Id !== 'string') throw new Error('cannot run in the sidecar: the engine gave no id')
  return Id
}

/** Starts what createExec made ready, and resolves once it runs, with its streams (see execInContainer). */
export function startExec(socket: string, id: string): Promise<Attached> {
  return hijack(socket, `/exec/${encodeURIComponent(id)}/start`, { Detach: false, Tty: false }, 'run in')
}

/** A request whose connection the engine takes over for a container's streams (attach, exec). */
function hijack(socket: string, urlPath: string, body: unknown, what: string): Promise<Attached> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const request = http.request({
      socketPath: socket,
      method: 'POST',
      path: urlPath,
      headers: {
        connection: 'Upgrade',
        upgrade: 'tcp',
        ...(data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
      },
    })
    request.on('upgrade', (_response, connection: Socket, head: Buffer) => {
      const stdout = new PassThrough()
      const stderr = new PassThrough()
      const demux = demultiplexer(stdout, stderr)
      demux(head)
      connection.on('data', demux)
      connection.on('close', () => {
        stdout.end()
        stderr.end()
      })
      connection.on('error', () => undefined) // its close follows
      resolve({ stdout, stderr, connection })
    })
    request.on('response', (response) => {
      response.resume()
      reject(new Error(`cannot ${what} the sidecar: status ${response.statusCode}`))
    })
    request.on('error', reject)
    request.end(data)
  })
}

/**
 * The engine's stream of a container without a terminal: frames of an 8-byte header (the stream, 1 for stdout
 * or 2 for stderr, then the length in bytes, big-endian, at offset 4) and the bytes themselves.
 */
function demultiplexer(stdout: PassThrough, stderr: PassThrough): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0)
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4)
      if (pending.length < 8 + size) break
      const payload = pending.subarray(8, 8 + size)
      if (pending[0] === 2) stderr.write(payload)
      else if (pending[0] === 1) stdout.write(payload)
      pending = pending.subarray(8 + size)
    }
  }
}
