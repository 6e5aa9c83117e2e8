// Drives the real bin/realm as a user would, in a private REALM_HOME.
import fs from 'node:fs/promises'
import path from 'node:path'

import { execa, type Result } from 'execa'

import { onTerminal } from './terminal.js'

export { shellQuote } from './terminal.js'
export { tempDir } from './temp.js'

export const REALM_BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'realm')

export interface RealmResult {
  code: number
  stdout: string
  stderr: string
}

export interface RealmOptions {
  cwd: string
  home: string
  env?: Record<string, string | undefined>
  input?: string
  /** run under `script` so realm sees a terminal on stdin and stdout */
  tty?: boolean
  /** keys typed when the post-run review asks "What now" (default: Enter, which keeps the work) */
  answer?: string
  /** the question to wait for before typing `answer` (default: the review's "What now") */
  prompt?: string
  timeout?: number
}

export function realmEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    REALM_HOME: home,
    REALM_IMAGE: TEST_IMAGE,
    REALM_NET_IMAGE: TEST_NET_IMAGE,
    HOME: path.join(home, 'user-home'),
    NO_COLOR: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    ANTHROPIC_API_KEY: 'test-key-not-real',
    ...extra,
  }
}

/**
 * The two ways realm enforces a network policy (lib/net/engine.ts): this machine's Docker takes the bridge; the
 * relay (every other engine's) is forced here with REALM_NET_PATH, so that both are tested on one engine.
 */
export const NET_PATHS = ['bridge', 'relay'] as const
export type NetPath = (typeof NET_PATHS)[number]
export function netPathEnv(netPath: NetPath): Record<string, string | undefined> {
  return { REALM_NET_PATH: netPath === 'relay' ? 'relay' : undefined }
}

export const TEST_IMAGE = process.env.REALM_TEST_IMAGE ?? 'realm-test:latest'
/** realm's network sidecar for the tests: the same tools as docker/net/Dockerfile, from this machine's binaries */
export const TEST_NET_IMAGE = process.env.REALM_TEST_NET_IMAGE ?? 'realm-test-net:latest'

/** realm's environment, with the private HOME it names made. */
async function preparedEnv(options: RealmOptions): Promise<Record<string, string | undefined>> {
  const env = realmEnv(options.home, options.env)
  // Private, as realm makes $REALM_HOME itself: HOME lies inside it, and realm repairs an open one with a notice.
  if (env.HOME) await fs.mkdir(env.HOME, { recursive: true, mode: 0o700 })
  return env
}

/** How every realm child runs: in the test's directory and environment, its output kept as it is. */
function childOptions(options: RealmOptions, env: Record<string, string | undefined>) {
  return {
    cwd: options.cwd,
    env,
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    input: options.input ?? '',
    timeout: options.timeout ?? 120_000,
  } as const
}

function resultOf(result: Result): RealmResult {
  return { code: result.exitCode ?? (result.signal ? 128 : -1), stdout: String(result.stdout), stderr: String(result.stderr) }
}

export async function realm(args: string[], options: RealmOptions): Promise<RealmResult> {
  const env = await preparedEnv(options)
  if (options.tty) {
    const run = await onTerminal([REALM_BIN, ...args], {
      cwd: options.cwd,
      env,
      prompt: options.prompt ?? 'What now',
      keys: options.answer ?? '\r',
      timeout: options.timeout,
    })
    return { code: run.exitCode, stdout: run.seen, stderr: run.stderr }
  }
  return resultOf(await execa(REALM_BIN, args, childOptions(options, env)))
}

/** Fails with the child's output, which tests otherwise keep quiet. */
export function explain(result: RealmResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
}

/** Starts bin/realm without waiting for it, for tests that signal or race it. */
export function startRealm(args: string[], options: RealmOptions) {
  const env = realmEnv(options.home, options.env)
  return execa(REALM_BIN, args, childOptions(options, env))
}

export async function settled(child: ReturnType<typeof startRealm>): Promise<RealmResult> {
  return resultOf(await child)
}
