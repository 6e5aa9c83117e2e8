// How realm talks to the user: progress and messages on stderr (stdout stays clean for scripts), and whether
// a person is there to answer questions.
import { terminalClosed } from './hangup.js'

export function say(line = ''): void {
  if (!(terminalClosed() && process.stderr.isTTY)) process.stderr.write(`${line}\n`)
}

export function isTerminal(): boolean {
  return !terminalClosed() && Boolean(process.stdin.isTTY && process.stdout.isTTY)
}
