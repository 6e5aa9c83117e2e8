// Driving a full-screen program (the real Claude Code TUI, through realm) on a pseudo-terminal as a user would:
// util-linux `script` gives it a terminal of a fixed size, a headless xterm draws what it writes, and keys are
// typed only once the screen shows what a person would wait for. Every frame is checked for the dialogs that
// must not appear, so a question that flashes by is caught as well as one that stays.
import xterm from '@xterm/headless'
import { execa } from 'execa'

import { shellQuote } from '../helpers/terminal.js'

const COLS = 120
const ROWS = 40

export interface TuiStep {
  /** the text to wait for on the screen */
  waitFor: string
  /** typed once it shows; a list is typed piece by piece, `gapMs` apart (a whole line at once reads as a paste) */
  keys: string | string[]
  gapMs?: number
}

export interface TuiRun {
  exitCode: number
  /** the screen just before each step's keys were typed */
  screens: string[]
  /** the screen when the program ended (realm's own lines after the agent's last screen) */
  final: string
  /** the dialogs from `forbidden` that were ever on screen, each with the screen that showed it */
  dialogs: Array<{ text: string; screen: string }>
  /** the step that was still waiting when the run ended, if any */
  waiting?: string
}

export interface TuiOptions {
  cwd: string
  env: Record<string, string | undefined>
  steps: TuiStep[]
  /** texts that must never be on screen: when one shows, it is recorded in `dialogs` */
  forbidden: string[]
  timeout?: number
}

export async function driveTui(command: string[], options: TuiOptions): Promise<TuiRun> {
  const term = new xterm.Terminal({ cols: COLS, rows: ROWS, allowProposedApi: true, scrollback: 5000 })
  // `script` makes the terminal; stty gives it a size (a pipe has none), as a terminal window would.
  const child = execa('script', ['-qec', `stty cols ${COLS} rows ${ROWS}; ${command.map(shellQuote).join(' ')}`, '/dev/null'], {
    cwd: options.cwd,
    env: { ...options.env, TERM: 'xterm-256color' },
    extendEnv: true,
    reject: false,
    timeout: options.timeout ?? 6 * 60_000,
    stdin: 'pipe',
    buffer: false,
    stderr: 'ignore',
  })
  const screens: string[] = []
  const dialogs: TuiRun['dialogs'] = []
  let step = 0
  let typing = false
  const screen = () => {
    const buffer = term.buffer.active
    const lines: string[] = []
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '')
    return lines.join('\n').replace(/\s+$/, '')
  }
  const type = async (keys: string | string[], gapMs: number) => {
    for (const piece of typeof keys === 'string' ? [keys] : keys) {
      child.stdin?.write(piece)
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
  }
  const look = () => {
    const now = screen()
    for (const text of options.forbidden) {
      if (now.includes(text) && !dialogs.some((d) => d.text === text)) dialogs.push({ text, screen: now })
    }
    const next = options.steps[step]
    if (!typing && next && now.includes(next.waitFor)) {
      typing = true
      screens.push(now)
      step++
      // A moment for the program to finish drawing and start reading, as a person's reaction would give it.
      void new Promise((resolve) => setTimeout(resolve, 300))
        .then(() => type(next.keys, next.gapMs ?? 400))
        .then(() => {
          typing = false
          look()
        })
    }
  }
  child.stdout?.on('data', (chunk: Buffer) => term.write(chunk, look))
  const result = await child
  await new Promise<void>((resolve) => term.write('', resolve))
  return {
    exitCode: result.exitCode ?? (result.signal ? 128 : -1),
    screens,
    final: screen(),
    dialogs,
    ...(step < options.steps.length ? { waiting: options.steps[step].waitFor } : {}),
  }
}
