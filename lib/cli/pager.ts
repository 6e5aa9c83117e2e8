// Long output through the user's pager when stdout is a terminal, as git does; plain stdout otherwise.
import { spawn } from 'node:child_process'

import { splitShellWords } from '../common/shell-words.js'

function pagerCommand(env: NodeJS.ProcessEnv): string[] | undefined {
  const text = env.PAGER ?? 'less -R'
  try {
    const words = splitShellWords(text)
    // PAGER=cat (or empty) means "no pager".
    return words.length === 0 || words[0] === 'cat' ? undefined : words
  } catch {
    return ['less', '-R']
  }
}

async function write(text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())))
}

export async function showPaged(text: string, env = process.env): Promise<void> {
  const command = process.stdout.isTTY ? pagerCommand(env) : undefined
  if (!command) return write(text)
  // git's defaults for less: quit when it fits one screen (F), keep colors (R), do not clear the screen (X).
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'inherit', 'inherit'], env: { LESS: 'FRX', ...env } })
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  // The user may quit the pager before reading everything: that is not an error.
  child.stdin.on('error', () => undefined)
  child.stdin.end(text)
  try {
    await done
  } catch {
    await write(text) // no such pager: print instead
  }
}
