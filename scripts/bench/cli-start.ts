// Section `cli`: how fast the CLI starts, for `realm --version` and for `realm list` over many sessions.
import path from 'node:path'

import { fakeSessions } from './repos.js'
import { median, REALM_BIN, realmEnv, type Timed, timed } from './runner.js'
import { Report, secs } from './table.js'

const CLI_TARGET_SECONDS = 0.2
const LIST_SESSIONS = 500

/** The median of at least 10 runs (they are short) after one warm-up, each checked by `check`. */
async function cliStart(tmpRoot: string, home: string, args: string[], reps: number, check: (r: Timed) => boolean): Promise<number> {
  const env = realmEnv(home)
  const times: number[] = []
  const runs = Math.max(10, reps)
  await timed(REALM_BIN, args, { cwd: tmpRoot, env }) // warm-up
  for (let i = 0; i < runs; i++) {
    const r = await timed(REALM_BIN, args, { cwd: tmpRoot, env })
    if (r.code !== 0 || !check(r)) throw new Error(`realm ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`)
    times.push(r.seconds)
  }
  return median(times)
}

export async function benchCliStart(tmpRoot: string, home: string, reps: number): Promise<Report> {
  const listHome = path.join(tmpRoot, 'list-home')
  fakeSessions(tmpRoot, listHome, LIST_SESSIONS)
  const runs = [
    { label: 'realm --version', seconds: await cliStart(tmpRoot, home, ['--version'], reps, (r) => r.stdout.includes('0.')) },
    {
      label: `realm list (${LIST_SESSIONS} sessions)`,
      seconds: await cliStart(tmpRoot, listHome, ['list'], reps, (r) => r.stdout.trim().split('\n').length === LIST_SESSIONS + 1),
    },
  ]
  const report = new Report()
  for (const { label, seconds } of runs) {
    const verdict = report.judge(`< ${CLI_TARGET_SECONDS}`, [
      seconds >= CLI_TARGET_SECONDS && `${label}: ${seconds.toFixed(3)} s >= ${CLI_TARGET_SECONDS} s`,
    ])
    report.add(`${label.padEnd(30)}${secs(seconds, 3, 8)}   ${verdict}`)
  }
  return report
}
