// Driving a program on a pseudo-terminal (util-linux `script`) and typing keys at its prompt, as a user would.
import { StringDecoder } from 'node:string_decoder'

import { execa } from 'execa'

export interface TerminalRun {
  exitCode: number
  /** everything the program wrote to the terminal (stdout and stderr both go there) */
  seen: string
  /** what `script` itself complained about, if anything */
  stderr: string
}

export interface TerminalOptions {
  cwd: string
  env: Record<string, string | undefined>
  /** the text to wait for before typing `keys` */
  prompt: string
  keys: string
  timeout?: number
}

/**
 * Runs `command` under `script`, so it has a terminal on stdin and stdout. The keys go in only once `prompt`
 * is on the screen: until then the terminal may belong to something else (the agent's container, for realm),
 * which would swallow them.
 */
export async function onTerminal(command: string[], options: TerminalOptions): Promise<TerminalRun> {
  const child = execa('script', ['-qec', command.map(shellQuote).join(' '), '/dev/null'], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeout ?? 120_000,
    stdin: 'pipe',
  })
  // A chunk may end inside a multi-byte character: the decoder keeps the part until the rest arrives.
  const decoder = new StringDecoder('utf8')
  let screen = ''
  child.stdout.on('data', (chunk: Buffer) => {
    const before = screen
    screen += decoder.write(chunk)
    if (!before.includes(options.prompt) && screen.includes(options.prompt)) child.stdin.write(options.keys)
  })
  const result = await child
  return { exitCode: result.exitCode ?? (result.signal ? 128 : -1), seen: String(result.stdout), stderr: String(result.stderr) }
}

/** A word for `sh -c`, quoted only when it needs to be. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
