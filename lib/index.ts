import { endByHangup, terminalClosed } from './cli/hangup.js'
import { say } from './cli/output.js'
import { main } from './cli/program.js'
import { prestartNetwork } from './net/start.js'

// The network of a run (engine facts, broker, proxy) starts first, so that it overlaps everything else (see net/start.ts).
prestartNetwork(process.argv, say)

main()
  .then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      // A bug, not a user error: show everything.
      console.error(error)
      process.exitCode = 70
    },
  )
  .finally(() => {
    // Node cannot exit normally once its terminal closed (see cli/hangup.ts).
    if (terminalClosed()) endByHangup()
  })
