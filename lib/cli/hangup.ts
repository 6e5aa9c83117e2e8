// The terminal going away mid-command (a closed window, a dropped SSH connection): the kernel sends SIGHUP, and
// from then on every write to the terminal fails with EIO. realm keeps working — a run is stopped and saved like
// any other interrupted run — but stops writing to the terminal and asking questions, and its command leaves
// a note in the session for the next one to show (see session/notice.ts).
//
// How it ends matters too. At exit Node puts the terminal back into the mode it found it in and treats a failure
// of that as a fatal internal error, which a closed terminal always causes: the process dies by SIGABRT, or by
// SIGSEGV when the exit was itself caused by an error (Node crashes while printing the failed check's stack).
// That is the "signal 11" a closed terminal used to end realm with, before anything was saved: the first
// progress line written to the dead terminal raised an EIO error nobody handled. So realm ends by SIGHUP itself,
// as a process does that has finished its work after a hangup, and Node's exit-time terminal reset never runs.
import tty from 'node:tty'

const ttysAtStart = [0, 1, 2].filter((fd) => tty.isatty(fd))
let closed = false

/** Whether realm's terminal closed (not merely a SIGHUP sent by hand while the terminal is still there). */
export function terminalClosed(): boolean {
  return closed
}

/** Ends the process by the hangup it received, after its work is done (see above). */
export function endByHangup(): void {
  process.removeAllListeners('SIGHUP')
  process.kill(process.pid, 'SIGHUP')
}

/**
 * Called first of all: notices the terminal closing before any other SIGHUP listener (a run's, which stops and
 * saves it) writes a line. A command with nothing to finish ends by the hangup, as it would without this.
 */
export function watchForHangup(): void {
  process.on('SIGHUP', () => {
    // A hung-up terminal no longer answers as one (its ioctls fail with EIO).
    closed ||= ttysAtStart.some((fd) => !tty.isatty(fd))
    if (closed) for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
    if (process.listenerCount('SIGHUP') === 1) endByHangup()
  })
}
