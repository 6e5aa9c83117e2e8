// After a run: the summary of what it did, then, on a terminal, the question of what to do with the work.
import kleur from 'kleur'

import { terminalClosed } from '../../cli/hangup.js'
import { isTerminal, say } from '../../cli/output.js'
import { riskLines } from '../../patch/risk.js'
import { renderRunSummary } from '../../patch/summary.js'
import type { RunOutcome } from '../../run/run.js'
import { hiddenLine } from '../../run/hidden.js'
import { blockedSummary } from '../../net/report.js'
import { hangupHeader, leaveNotice } from '../../session/notice.js'
import { sessionFiles } from '../../session/patches.js'
import type { Session } from '../../session/store.js'

/** One line per item of Claude Code's configuration the agent changed in its own copy (none of it persists). */
function configChangeLines(outcome: RunOutcome): string[] {
  return outcome.save.configChanges.map((item) =>
    kleur.yellow(`realm: the agent ${item} in its copy of Claude Code's configuration — not kept; later runs start from yours`),
  )
}

function workspaceNote(outcome: RunOutcome): string {
  if (outcome.strategy === 'overlay') return 'overlay (ignored files present)'
  return outcome.includeIgnored ? 'copy (ignored files copied)' : 'copy (ignored files left out; --include-ignored copies them)'
}

export async function afterRun(session: Session, outcome: RunOutcome): Promise<void> {
  const files = outcome.save.status === 'unverified' ? { run: [], session: [] } : await sessionFiles(session)
  const summary = renderRunSummary({
    name: session.name,
    exitCode: outcome.exitCode,
    workspace: workspaceNote(outcome),
    save: outcome.save,
    run: files.run,
    session: files.session,
    riskLines: riskLines(files.session),
  })
  const hidden = hiddenLine(outcome.hidden)
  if (hidden) summary.splice(1, 0, hidden)
  for (const line of summary) say(line)
  const blocked = blockedSummary(outcome.blocked ?? [])
  if (blocked) say(blocked)
  for (const line of configChangeLines(outcome)) say(line)
  if (terminalClosed()) {
    // Nobody saw the lines above: the next command on the session shows them.
    await leaveNotice(session, [hangupHeader(session.name), ...summary, ...(blocked ? [blocked] : []), ...configChangeLines(outcome)])
    return
  }
  if (files.run.length > 0 && isTerminal()) await (await import('./review.js')).reviewAfterRun(session, say)
}
