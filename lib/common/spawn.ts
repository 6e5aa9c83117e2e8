// Running a program and collecting what it printed, with Node's own spawn. The calls on the way to the agent's
// `docker run` (reading the user's git settings, asking docker about an image or the engine, `docker run`
// itself) need none of what execa adds, and execa is the largest package realm loads: a quarter of a megabyte
// to parse before the first container could start (git/exec.ts loads it once a run is under way).
import { spawn, type StdioOptions } from 'node:child_process'

export interface Finished {
  /** undefined when the program did not start (see `error`) or was ended by a signal */
  exitCode?: number
  signal?: NodeJS.Signals
  /** what it printed, when stdout and stderr are pipes ('' otherwise) */
  stdout: string
  stderr: string
  /** why it did not start: `code` ENOENT when it is not installed */
  error?: NodeJS.ErrnoException
}

export interface RunProgramOptions {
  cwd?: string
  /** added to realm's own environment */
  env?: Record<string, string>
  /** stdin, stdout and stderr: pipes by default (stdin then reads nothing) */
  stdio?: StdioOptions
  /** written to the program's stdin (a pipe then), which is closed after it */
  input?: Buffer
}

/**
 * Runs `command` with `args` (an array, never a shell line) and resolves once it has ended and its output is
 * read; never rejects. The child is spawned before this returns, so a caller can mark that moment. Should realm's
 * own process exit while the child runs, the child is sent SIGTERM, as execa's cleanup does.
 */
export function runProgram(command: string, args: readonly string[], options: RunProgramOptions = {}): Promise<Finished> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : process.env,
    stdio: options.stdio ?? [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  if (options.input) {
    child.stdin?.on('error', () => undefined) // a program that does not read it says so by its exit
    child.stdin?.end(options.input)
  }
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))
  const onExit = () => child.kill('SIGTERM')
  process.once('exit', onExit)
  return new Promise((resolve) => {
    let error: NodeJS.ErrnoException | undefined
    child.once('error', (e: NodeJS.ErrnoException) => {
      error = e
    })
    // 'close' follows 'exit' once the pipes are drained, and follows 'error' when the program did not start.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      process.off('exit', onExit)
      resolve({
        exitCode: error || code === null ? undefined : code,
        signal: signal ?? undefined,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        error,
      })
    })
  })
}
