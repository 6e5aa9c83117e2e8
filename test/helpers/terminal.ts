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
  /** typed when `prompt` shows; a list: its (i+1)th entry when `prompt` shows for the (i+1)th time */
  keys: string | string[]
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
    maxBuffer: 1 << 30, // a review may page a diff of hundreds of thousands of lines
  })
  const keys = typeof options.keys === 'string' ? [options.keys] : options.keys
  // A chunk may end inside a multi-byte character: the decoder keeps the part until the rest arrives.
  const decoder = new StringDecoder('utf8')
  let screen = ''
  // Where to look for the next showing of the prompt: only the new text (and a prompt split across chunks).
  let from = 0
  let typed = 0
  child.stdout.on('data', (chunk: Buffer) => {
    screen += decoder.write(chunk)
    for (let at = screen.indexOf(options.prompt, from); at !== -1 && typed < keys.length; at = screen.indexOf(options.prompt, from)) {
      from = at + options.prompt.length
      child.stdin.write(keys[typed++])
    }
    from = Math.max(from, screen.length - options.prompt.length + 1)
  })
  const result = await child
  return { exitCode: result.exitCode ?? (result.signal ? 128 : -1), seen: String(result.stdout), stderr: String(result.stderr) }
}

/** A word for `sh -c`, quoted only when it needs to be. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
