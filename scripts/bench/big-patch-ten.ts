// The big-patch section's ten-run rows: the same 10,000 files made over ten runs, each saved by realm as a resume.
// Readers must cost what they cost after one run (the whole change is stored at save time), and `undo` of a middle
// run re-applies the five after it, next to git dropping a commit and replaying the rest.
import path from 'node:path'

import { type BigPatch, bigSession } from './big-patch-repo.js'
import { type BigRow, commands, maxRss, ok, pair } from './pair.js'
import { git, REALM_BIN, realmEnv, timed } from './runner.js'
import { copySession, makeTenRuns, RUNS, tenRunSession } from './ten-runs.js'

export async function benchTenRuns(dir: string, home: string, big: BigPatch, reps: number): Promise<{ rows: BigRow[]; rss?: number }> {
  const env = realmEnv(home)
  const { realmIn, gitIn, checked } = commands(env)
  const rows: BigRow[] = []
  let round = 0
  const t1 = Date.now()
  const ten = makeTenRuns(dir)
  const tenProject = await tenRunSession(path.join(dir, 'ten'), home, 'ten', ten)
  process.stderr.write(`ten runs saved in ${((Date.now() - t1) / 1000).toFixed(1)} s; `)
  const tenRows: Array<[string, string, ReturnType<typeof realmIn>, ReturnType<typeof gitIn>]> = [
    ['diff --stat', 'git apply --stat', realmIn(tenProject, 'diff', 'ten', '--stat'), gitIn(tenProject, 'apply', '--stat', big.patch)],
    [
      'diff',
      'git diff --patch-with-stat of the trees',
      realmIn(tenProject, 'diff', 'ten'),
      gitIn(big.gitside, 'diff', '--patch-with-stat', '-M', big.base, big.agent),
    ],
    [
      'apply --check',
      'git apply --check',
      realmIn(tenProject, 'apply', 'ten', '--check'),
      gitIn(tenProject, 'apply', '--check', big.patch),
    ],
  ]
  for (const [command, gitCommand, realmRun, gitRun] of tenRows) {
    const r = await pair(reps, checked(`realm ${command} (10 runs)`, realmRun), checked(gitCommand, gitRun))
    rows.push({ label: `realm ${command}, 10 runs`, git: gitCommand, realm: r.realm, plain: r.plain })
  }
  const cleanTen = () => {
    git(tenProject, 'reset', '-q', '--hard')
    git(tenProject, 'clean', '-fdq')
  }
  const tenApply = await pair(
    reps,
    checked('realm apply (10 runs)', realmIn(tenProject, 'apply', 'ten'), (r) => /applied the session's changes/.test(r.stderr)),
    checked('git apply', gitIn(tenProject, 'apply', big.patch)),
    cleanTen,
  )
  cleanTen()
  rows.push({ label: 'realm apply, 10 runs', git: 'git apply', realm: tenApply.realm, plain: tenApply.plain })
  const tenPush = await pair(
    reps,
    async () => {
      const name = `ten-push-${++round}`
      const where = path.join(dir, name)
      const pushed = await bigSession(where, home, `${name}-unused`, big)
      copySession(home, 'ten', name, pushed)
      return ok('realm push (10 runs)', await realmIn(pushed, 'push', name)())
    },
    async () => {
      const origin = path.join(dir, `git-origin-${round}-ten.git`)
      git(dir, 'init', '-q', '--bare', origin)
      git(big.gitside, 'push', '-q', origin, `${big.base}:refs/heads/main`)
      return ok('git push', await gitIn(big.gitside, 'push', '-q', origin, `${big.agent}:refs/heads/agent`)())
    },
  )
  rows.push({ label: 'realm push, 10 runs', git: 'git push of the same commit', realm: tenPush.realm, plain: tenPush.plain })
  process.stderr.write('10-run readers ')

  // undo of run 5: runs 6 to 10 re-applied on top and verified; git's equivalent drops commit 5 and replays the five
  // after it (`git rebase --onto`, in a checkout). Each starts from the full ten runs again (untimed).
  const middle = RUNS / 2
  const undoReset = async () => {
    const log = await timed(REALM_BIN, ['log', 'ten', '--json'], { cwd: tenProject, env })
    if (/"undone": true/.test(log.stdout))
      ok('realm undo --restore', await realmIn(tenProject, 'undo', 'ten', '--restore', String(middle))())
    git(ten.gitside, 'checkout', '-q', '-B', 'main', ten.commits[RUNS])
  }
  const undo = await pair(
    reps,
    checked('realm undo', realmIn(tenProject, 'undo', 'ten', String(middle)), (r) => /undid run 5/.test(r.stderr)),
    checked('git rebase --onto', gitIn(ten.gitside, 'rebase', '-q', '--onto', ten.commits[middle - 1], ten.commits[middle], 'main')),
    undoReset,
  )
  await undoReset()
  rows.push({ label: 'realm undo of run 5 of 10', git: 'git rebase --onto (drop commit 5)', realm: undo.realm, plain: undo.plain })
  process.stderr.write('undo\n')

  return { rows, rss: await maxRss(env, 'ten', tenProject) }
}
