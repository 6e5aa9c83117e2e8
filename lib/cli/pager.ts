// Long output through the user's pager when stdout is a terminal, as git does; plain stdout otherwise. The
// output is streamed: a 50 MB diff is written as it is rendered, at the pace the reader takes it, and writing
// stops quietly once the reader is gone (the user quit the pager, or `realm diff | head` closed the pipe).
import { type ChildProcess, spawn } from 'node:child_process'
import type { Writable } from 'node:stream'

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

export interface Paged {
  /** Writes `text`; resolves false once the reader is gone, and from then on writes nothing. */
  write(text: string): Promise<boolean>
  /** Ends the output and waits for the pager, if there is one, to exit. */
  close(): Promise<void>
}

/**
 * Writes to `stream` at the pace its reader takes it: waits for 'drain' whenever the stream's buffer is full.
 * `finish` ends the output; `gone` says whether the reader left first.
 */
function streamOutput(stream: Writable, finish: (gone: boolean) => Promise<void>): Paged {
  let gone = false
  let wake: (() => void) | undefined
  const stop = () => {
    gone = true
    wake?.()
  }
  // EPIPE once the reader has quit: the end of the output, not an error. The listeners stay: a write still
  // buffered may fail after close().
  stream.on('error', stop)
  stream.on('close', stop)
  stream.on('drain', () => wake?.())
  return {
    async write(text) {
      if (gone) return false
      if (!stream.write(text)) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
      return !gone
    },
    close: () => finish(gone),
  }
}

/** Resolves once `child` has started, or rejects if it could not be (no such program). */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
}

/** Output through the user's pager when stdout is a terminal, else stdout itself. */
export async function openPaged(env = process.env): Promise<Paged> {
  const command = process.stdout.isTTY ? pagerCommand(env) : undefined
  if (!command) return stdoutOutput()
  // git's defaults for less: quit when it fits one screen (F), keep colors (R), do not clear the screen (X).
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'inherit', 'inherit'], env: { LESS: 'FRX', ...env } })
  const stdin = child.stdin
  stdin?.on('error', () => undefined) // see streamOutput
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  try {
    await started(child)
  } catch {
    return stdoutOutput() // no such pager: print instead
  }
  if (!stdin) return stdoutOutput() // not so: stdin is a pipe
  child.on('error', () => undefined) // it started; nothing later is worth failing the command for
  return streamOutput(stdin, async () => {
    stdin.end()
    await exited
  })
}

function stdoutOutput(): Paged {
  const stdout = process.stdout
  // stdout to a pipe can be asynchronous: done once what was written has been taken.
  return streamOutput(stdout, async (gone) => {
    if (gone || !stdout.writableNeedDrain) return
    await new Promise((resolve) => {
      stdout.once('drain', resolve)
      stdout.once('error', resolve) // the reader left meanwhile
    })
  })
}
