// realm's command line, once net/early.ts had its head start (see index.ts).
import { endByHangup, terminalClosed } from './hangup.js'
import { say } from './output.js'
import { main } from './program.js'

// The network of a run (engine facts, broker, proxy) starts first, so that it overlaps everything else (see net/start.ts).
// Loaded only for the commands that run the agent: it brings docker's and the network's code (execa among them),
// which would cost every other command about 0.1 s of start-up.
const runsAgent = process.argv[2] === 'new' || process.argv[2] === 'resume'
void (runsAgent ? import('../net/start.js').then((start) => start.prestartNetwork(process.argv, say)) : Promise.resolve())
  .then(() => main())
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
