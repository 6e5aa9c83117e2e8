import { say } from '../cli/output.js'
import { promptLine } from '../session/history.js'
import { logLines } from '../session/log-lines.js'
import { readHistory } from '../session/run-history.js'
import { loadSession } from '../session/store.js'

export async function logCommand(name: string, options: { json?: boolean }): Promise<number> {
  // Read-only, so no lock: runs.json is replaced atomically, and a log is allowed while the agent runs.
  const session = await loadSession(name)
  const { history, stored } = await readHistory(session)
  if (options.json) {
    const runs = history.runs.map((r) => ({ ...r, prompt: promptLine(r, Number.POSITIVE_INFINITY), kept: !r.undone }))
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`)
    return 0
  }
  process.stdout.write(`${logLines(history).join('\n')}\n`)
  if (history.forkedFrom) say(`realm: '${name}' was forked from '${history.forkedFrom.session}' after its run ${history.forkedFrom.run}`)
  if (!stored) say(`realm: '${name}' was made by an older realm, which kept no history of each run — the log shows what is known`)
  return 0
}
