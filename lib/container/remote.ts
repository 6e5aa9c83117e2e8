// Talking to an engine that cannot see the host's files (see remote-plan.ts for what is run): creating the
// container, copying a tar stream into it, starting it attached, reading its outputs back as a tar stream, and
// removing it. Everything goes through the engine's CLI, which reaches any engine the user has (tcp, ssh, a
// context); its one-line complaints become realm's.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { PassThrough, type Readable } from 'node:stream'

import { errorCode, firstLine, UserError } from '../common/errors.js'
import { runProgram } from '../common/spawn.js'
import { engineProgram } from './engine-cli.js'
import { engineDownload, engineEndpoint, engineHttp, engineMessage } from './engine-http.js'
import { engineName, unreachable } from './engine-location.js'

/** Turns the engine's refusal to create the container into what the user should do. */
export function createRefusal(stderr: string, image: string, env: NodeJS.ProcessEnv = process.env): UserError {
  const line = firstLine(stderr)
  const bind = /bind source path does not exist: (.*)$/.exec(line)
  if (bind) {
    return new UserError(
      `the Docker engine (${engineName(env)}) cannot see ${bind[1]}: it has a filesystem of its own — remove that mount from REALM_DOCKER_ARGS / --docker-args`,
    )
  }
  if (/no such image|image not known/i.test(line)) return imageMissingRemote(image, env)
  if (/cannot connect|connection refused|no such host|i\/o timeout|error during connect/i.test(line)) return unreachable(line, env)
  return new UserError(`the Docker engine could not create the container: ${line} — check --image and REALM_DOCKER_ARGS`)
}

/** The refusal for an image the remote engine does not have: how to bring it there. */
export function imageMissingRemote(image: string, env: NodeJS.ProcessEnv = process.env): UserError {
  const target = env.DOCKER_HOST
    ? `DOCKER_HOST=${env.DOCKER_HOST} docker load`
    : `docker --context ${env.DOCKER_CONTEXT || '<context>'} load`
  return new UserError(
    `image '${image}' is not on the Docker engine (${engineName(env)}), which is remote — copy it there with 'docker save ${image} | ${target}', or build it there`,
  )
}

/**
 * `docker create`. `env`: values for the `-e NAME` flags, kept out of the process list; among them may be the
 * run's proxy, which the CLI must not take for its own connection to the engine (hence NO_PROXY, its alone).
 */
export async function createContainer(argv: string[], image: string, env: Record<string, string> = {}): Promise<void> {
  const result = await runProgram(engineProgram(), argv, { env: { ...env, NO_PROXY: '*', no_proxy: '*' } })
  if (errorCode(result.error) === 'ENOENT') throw new UserError('docker is not installed — install Docker Engine and try again')
  if (result.exitCode !== 0) throw createRefusal(result.stderr || result.error?.message || '', image)
}

/** Copies a tar stream into the container, extracted at its root. */
export async function copyInto(container: string, tar: AsyncIterable<Buffer>): Promise<void> {
  const endpoint = engineEndpoint()
  if (!endpoint) return copyIntoWithCli(container, tar)
  const answer = await engineHttp(endpoint, 'PUT', `/containers/${encodeURIComponent(container)}/archive?path=%2F`, tar).catch(
    (error: Error) => ({ status: 0, body: error.message }),
  )
  if (answer.status !== 200) throw unreachable(answer.status ? engineMessage(answer) : answer.body)
}

function copyIntoWithCli(container: string, tar: AsyncIterable<Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(engineProgram(), ['cp', '-', `${container}:/`], { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    child.on('error', reject)
    child.stdin.on('error', () => undefined) // its exit says what went wrong
    child.on('close', (code) => {
      if (code === 0) resolve()
      else reject(unreachable(firstLine(stderr) || `docker cp exited ${code}`))
    })
    void (async () => {
      try {
        for await (const chunk of tar) {
          if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r))
        }
        child.stdin.end()
      } catch (error) {
        child.kill()
        reject(error)
      }
    })()
  })
}

/** A copy out of the container as it goes: the archive's bytes, how it ended, and a way to stop it. */
export interface CopyOut {
  stream: Readable
  /** resolves once the stream has been read to its end: code 0 when it is whole */
  done: Promise<{ code: number | null; stderr: string }>
  kill: () => void
}

/** The container's directory `dir` as a tar stream (links are not followed). */
export function copyOut(container: string, dir: string): CopyOut {
  const endpoint = engineEndpoint()
  if (!endpoint) return copyOutWithCli(container, dir)
  const stream = new PassThrough()
  let abort: () => void = () => undefined
  let killed = false
  const done = engineDownload(endpoint, `/containers/${encodeURIComponent(container)}/archive?path=${encodeURIComponent(dir)}`).then(
    ({ status, stream: body, abort: stop }) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        abort = stop
        if (killed) stop()
        if (status === 404) {
          body.resume()
          stream.end()
          resolve({ code: 1, stderr: `Could not find the file ${dir} in container ${container}` })
          return
        }
        if (status !== 200) {
          let text = ''
          body.on('data', (chunk: Buffer) => {
            text += chunk.toString('utf8')
          })
          body.on('end', () => {
            stream.end()
            resolve({ code: 1, stderr: engineMessage({ status, body: text }) })
          })
          return
        }
        body.on('error', (error) => {
          stream.end()
          resolve({ code: killed ? null : 1, stderr: killed ? '' : error.message })
        })
        body.on('end', () => {
          stream.end()
          resolve({ code: killed ? null : 0, stderr: '' })
        })
        body.pipe(stream, { end: false })
      }),
    (error: Error) => {
      stream.end()
      return { code: 1, stderr: error.message }
    },
  )
  return {
    stream,
    done,
    kill: () => {
      killed = true
      abort()
    },
  }
}

function copyOutWithCli(container: string, dir: string): CopyOut {
  const child = spawn(engineProgram(), ['cp', `${container}:${dir}`, '-'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, stderr: error.message }))
    child.on('close', (code) => resolve({ code, stderr }))
  })
  return { stream: child.stdout, done, kill: () => child.kill('SIGKILL') }
}

export type ContainerStatus = 'running' | 'stopped' | 'absent' | 'unknown'

/** Whether the container runs, has stopped (its filesystem kept), is gone, or the engine cannot be asked. */
export async function containerStatus(container: string): Promise<ContainerStatus> {
  const endpoint = engineEndpoint()
  if (endpoint) {
    const answer = await engineHttp(endpoint, 'GET', `/containers/${encodeURIComponent(container)}/json`, undefined, 10_000).catch(
      () => undefined,
    )
    if (!answer) return 'unknown'
    if (answer.status === 404) return 'absent'
    if (answer.status !== 200) return 'unknown'
    return (JSON.parse(answer.body) as { State?: { Running?: boolean } }).State?.Running ? 'running' : 'stopped'
  }
  const result = await runProgram(engineProgram(), ['inspect', '--type', 'container', '--format', '{{.State.Running}}', container])
  if (result.exitCode === 0) return result.stdout.trim() === 'true' ? 'running' : 'stopped'
  if (/no such (object|container)/i.test(result.stderr)) return 'absent'
  return 'unknown'
}

/** Whether the engine has the volume; undefined when it cannot say. */
export async function volumeExists(volume: string): Promise<boolean | undefined> {
  const endpoint = engineEndpoint()
  if (endpoint) {
    const answer = await engineHttp(endpoint, 'GET', `/volumes/${encodeURIComponent(volume)}`, undefined, 10_000).catch(() => undefined)
    return answer?.status === 200 ? true : answer?.status === 404 ? false : undefined
  }
  const result = await runProgram(engineProgram(), ['volume', 'inspect', '--format', '{{.Name}}', volume])
  return result.exitCode === 0 ? true : /no such volume/i.test(result.stderr) ? false : undefined
}

export async function removeContainer(container: string): Promise<void> {
  const endpoint = engineEndpoint()
  if (endpoint) {
    await engineHttp(endpoint, 'DELETE', `/containers/${encodeURIComponent(container)}?force=1&v=1`).catch(() => undefined)
    return
  }
  await runProgram(engineProgram(), ['rm', '--force', '--volumes', container])
}

/** Runs a container (argv: `docker run …`) with `file`'s bytes on its stdin; resolves to whether it succeeded. */
export function runWithInput(argv: string[], file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(engineProgram(), argv, { stdio: ['pipe', 'ignore', 'ignore'] })
    child.on('error', () => resolve(false))
    child.on('close', (code) => resolve(code === 0))
    child.stdin.on('error', () => undefined)
    fs.createReadStream(file)
      .on('error', () => child.kill())
      .pipe(child.stdin)
  })
}
