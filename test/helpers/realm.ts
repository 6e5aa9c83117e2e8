// Drives the real bin/realm as a user would, in a private REALM_HOME.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { execa, type Options } from 'execa'

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
    HOME: path.join(home, 'user-home'),
    NO_COLOR: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    ANTHROPIC_API_KEY: 'test-key-not-real',
    ...extra,
  }
}

export const TEST_IMAGE = process.env.REALM_TEST_IMAGE ?? 'realm-test:latest'

export async function realm(args: string[], options: RealmOptions): Promise<RealmResult> {
  const env = realmEnv(options.home, options.env)
  await fs.mkdir(env.HOME!, { recursive: true })
  const common = {
    cwd: options.cwd,
    env,
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeout ?? 120_000,
  } as const
  if (options.tty) return onTerminal(args, common, options.answer ?? '\r', options.prompt ?? 'What now')
  const result = await execa(REALM_BIN, args, { ...common, input: options.input ?? '' })
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
}

/**
 * Runs realm under `script`, so it has a terminal. Keys go in only once the review menu is up: until then the
 * terminal belongs to the agent's container, which would swallow them.
 */
async function onTerminal(args: string[], common: Options, answer: string, prompt: string): Promise<RealmResult> {
  const child = execa('script', ['-qec', [REALM_BIN, ...args].map(shellQuote).join(' '), '/dev/null'], { ...common, stdin: 'pipe' })
  let seen = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    const before = seen
    seen += chunk.toString()
    if (!before.includes(prompt) && seen.includes(prompt)) child.stdin!.write(answer)
  })
  const result = await child
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) }
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** A fresh temp directory per test, removed afterwards. */
export async function tempDir(prefix = 'realm-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  return { path: await fs.realpath(dir), cleanup: () => fs.rm(dir, { recursive: true, force: true }) }
}

/** Fails with the child's output, which tests otherwise keep quiet. */
export function explain(result: RealmResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
}

/** Starts bin/realm without waiting for it, for tests that signal or race it. */
export function startRealm(args: string[], options: RealmOptions) {
  const env = realmEnv(options.home, options.env)
  return execa(REALM_BIN, args, {
    cwd: options.cwd,
    env,
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    input: options.input ?? '',
    timeout: options.timeout ?? 120_000,
  })
}

export async function settled(child: ReturnType<typeof startRealm>): Promise<RealmResult> {
  const result = await child
  return { code: result.exitCode ?? (result.signal ? 128 : -1), stdout: String(result.stdout), stderr: String(result.stderr) }
}
