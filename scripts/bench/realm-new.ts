// The two runs the start-time sections set against each other: realm new with a stand-in agent that writes one
// file, and a bare docker run of the same image.
import fs from 'node:fs'
import path from 'node:path'

import type { Strategy } from './options.js'
import { IMAGE, REALM_BIN, realmEnv, sessionName, timed } from './runner.js'

/** One `realm new`: its wall time, and realm's own time before `docker run` when REALM_TRACE was set. */
export interface RealmRun {
  seconds: number
  own?: number
}

/** REALM_TRACE's line with realm's own time before `docker run` (lib/common/trace.ts). */
const OWN_TIME = /^realm-trace \d+ own time before docker run: ([\d.]+) s/m

/** One `realm new` in repo, checked (its patch, the workspace it used) and removed after, untimed. */
export async function realmNew(
  home: string,
  repo: string,
  strategy: Strategy,
  network = 'allowlist',
  extra: Record<string, string> = {},
): Promise<RealmRun> {
  const name = sessionName(`bench-${strategy}`)
  const env = realmEnv(home, { REALM_WORKSPACE: strategy, REALM_NETWORK: network, ...extra })
  const run = await timed(REALM_BIN, ['new', name, 'echo x > one-file.txt'], { cwd: repo, env })
  const patch = (() => {
    try {
      return fs.readFileSync(path.join(home, 'sessions', name, 'changes.patch'), 'utf8')
    } catch {
      return ''
    }
  })()
  const output = run.stdout + run.stderr
  const problem =
    run.code !== 0
      ? `exit ${run.code}`
      : !patch.includes('one-file.txt')
        ? 'changes.patch lacks one-file.txt'
        : new RegExp(`workspace: ${strategy === 'overlay' ? 'copy' : 'overlay'}`).test(output)
          ? `the run did not use the ${strategy} workspace`
          : undefined
  // not timed
  const removed = await timed(REALM_BIN, ['remove', name, '--yes'], { cwd: repo, env })
  if (problem) throw new Error(`realm new (${strategy}) failed: ${problem}\n${output}`)
  if (removed.code !== 0) throw new Error(`realm remove ${name} failed:\n${removed.stdout}${removed.stderr}`)
  const own = OWN_TIME.exec(run.stderr)?.[1]
  if (env.REALM_TRACE && own === undefined) throw new Error(`realm new (${strategy}) traced no own time before docker run:\n${output}`)
  return { seconds: run.seconds, own: own === undefined ? undefined : Number(own) }
}

export async function dockerTrue(): Promise<number> {
  const run = await timed('docker', ['run', '--rm', IMAGE, 'true'])
  if (run.code !== 0) throw new Error(`docker run --rm ${IMAGE} true failed:\n${run.stderr}`)
  return run.seconds
}
