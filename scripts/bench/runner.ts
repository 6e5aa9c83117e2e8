// What every bench section runs on: the temp dirs (removed on exit and on Ctrl-C), timed child processes, the
// median, the environment realm runs in, and git with a pinned identity.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StringDecoder } from 'node:string_decoder'

export const ROOT = path.resolve(import.meta.dirname, '..', '..')
export const REALM_BIN = path.join(ROOT, 'bin', 'realm')
export const IMAGE = process.env.REALM_TEST_IMAGE ?? 'realm-test:latest'

export function fatal(message: string): never {
  console.error(`bench: ${message}`)
  process.exit(2)
}

// ---------------------------------------------------------------------------------------------------------------
// temp dirs, removed on exit and on Ctrl-C

const children = new Set<ReturnType<typeof spawn>>()
let interrupted = false

/** Makes the bench's temp root and removes it when the process ends, unless `keep`. */
export function makeTempRoot(keep: boolean): string {
  const tmpRoot = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'realm-bench-')))
  let cleaned = false
  const cleanup = () => {
    if (cleaned) return
    cleaned = true
    if (keep) {
      console.error(`bench: kept ${tmpRoot}`)
      return
    }
    try {
      fs.rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 })
    } catch (error) {
      // An overlay's work dir can be left root-owned with mode 000 by a run that was cut short.
      console.error(`bench: could not remove ${tmpRoot}: ${(error as Error).message}`)
    }
  }
  process.on('exit', cleanup)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupted) return
      interrupted = true
      console.error(`\nbench: ${signal}, stopping and cleaning up`)
      // realm stops its container gracefully on SIGTERM; wait (up to 20 s) for it, so nothing still uses the temp dirs.
      const pending = [...children].map(
        (child) =>
          new Promise((resolve) => {
            child.once('close', resolve)
            child.kill('SIGTERM')
          }),
      )
      void Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 20_000))]).then(() => {
        cleanup()
        process.exit(130)
      })
    })
  }
  return tmpRoot
}

// ---------------------------------------------------------------------------------------------------------------
// processes

export const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench User',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench User',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}:\n${r.stderr}`)
  return r.stdout
}

export interface Timed {
  seconds: number
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Wall time from spawn to exit; stdin is /dev/null, so nothing sees a terminal. `discard`: stdout is read as it
 * comes (a pipe, as a user's `| less` would be) but only counted, in `stdoutBytes`, not kept.
 */
export function timed(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; discard?: boolean } = {},
): Promise<Timed & { stdoutBytes: number }> {
  return new Promise((resolve, reject) => {
    if (interrupted) return // never settles: the signal handler exits once the running children are gone
    const start = process.hrtime.bigint()
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stdoutBytes = 0
    const decoder = new StringDecoder('utf8')
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdoutBytes += d.length
      if (!options.discard) stdout += decoder.write(d)
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      children.delete(child)
      resolve({ seconds, code, stdout, stderr, stdoutBytes })
    })
  })
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export function realmEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...GIT_ENV,
    REALM_HOME: home,
    REALM_IMAGE: IMAGE,
    HOME: path.join(home, 'user-home'),
    ANTHROPIC_API_KEY: 'bench-key-not-real',
    NO_COLOR: '1',
    // the default network policy (allowlist) runs realm's sidecar, built for tests from this machine's binaries
    REALM_NET_IMAGE: process.env.REALM_TEST_NET_IMAGE ?? 'realm-test-net:latest',
    ...extra,
  }
}

let sessions = 0

/** A session name no other run of this bench uses, so that runs sharing a home never meet. */
export function sessionName(prefix: string): string {
  return `${prefix}-${++sessions}`
}
