import { main } from './cli/program.js'

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // A bug, not a user error: show everything.
    console.error(error)
    process.exitCode = 70
  },
)
