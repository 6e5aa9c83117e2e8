// Section `big-patch`: realm's diff, apply and push on a session whose patch is 10,000 files and about 50 MB,
// each next to the plain git command that does the same job on the same patch, interleaved in the same run (no
// Docker needed).
import fs from 'node:fs'
import path from 'node:path'

import { BIG, bigSession, makeBigPatch, storeSession } from './big-patch-repo.js'
import { GIT_ENV, git, median, REALM_BIN, realmEnv, type Timed, timed } from './runner.js'
import { Report, ratio, secs } from './table.js'

const BIG_TARGET = 2
const BIG_MEMORY_TARGET = 3

interface BigRow {
  label: string
  git: string
  realm: number
  plain: number
}

/** Median wall times of `realm` and `plain`, run in turn `reps` times after one untimed round; `reset` runs before each. */
async function pair(
  reps: number,
  realm: () => Promise<Timed>,
  plain: () => Promise<Timed>,
  reset: () => Promise<void> | void = () => undefined,
): Promise<{ realm: number; plain: number }> {
  const times = { realm: [] as number[], plain: [] as number[] }
  for (let i = 0; i <= reps; i++) {
    await reset()
    const r = await realm()
    await reset()
    const p = await plain()
    if (i > 0) {
      times.realm.push(r.seconds)
      times.plain.push(p.seconds)
    }
  }
  return { realm: median(times.realm), plain: median(times.plain) }
}

function ok(what: string, r: Timed, check = true): Timed {
  if (r.code !== 0 || !check) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`)
  return r
}

export async function benchBigPatch(tmpRoot: string, reps: number): Promise<Report> {
  const dir = path.join(tmpRoot, 'big')
  const home = path.join(dir, 'home')
  const t0 = Date.now()
  const big = makeBigPatch(dir)
  const project = await bigSession(path.join(dir, 'read'), home, 'big', big)
  process.stderr.write(`bench: big patch of ${(big.bytes / 1e6).toFixed(1)} MB made in ${((Date.now() - t0) / 1000).toFixed(1)} s; `)
  const env = realmEnv(home)
  const gitEnv = { ...process.env, ...GIT_ENV }
  const realmIn =
    (cwd: string, ...args: string[]) =>
    () =>
      timed(REALM_BIN, args, { cwd, env, discard: true })
  const gitIn =
    (cwd: string, ...args: string[]) =>
    () =>
      timed('git', args, { cwd, env: gitEnv, discard: true })
  const checked =
    (
      what: string,
      run: () => Promise<Timed & { stdoutBytes: number }>,
      check: (r: Timed & { stdoutBytes: number }) => boolean = () => true,
    ) =>
    async () => {
      const r = await run()
      return ok(what, r, check(r))
    }
  const rows: BigRow[] = []

  // What the same commands cost on a patch of one file: realm's start (and its session checks), git's too.
  const tiny = path.join(dir, 'tiny.patch')
  const whole = fs.readFileSync(big.patch)
  fs.writeFileSync(tiny, whole.subarray(0, whole.indexOf('\ndiff --git ', 1) + 1))
  await storeSession(home, 'tiny', project, big.base, tiny)
  for (const command of ['diff --stat', 'apply --check']) {
    const [verb, flag] = command.split(' ')
    const gitCommand = `git apply ${flag}`
    const fixed = await pair(
      reps,
      checked(`realm ${command} (1 file)`, realmIn(project, verb, 'tiny', flag)),
      checked(`${gitCommand} (1 file)`, gitIn(project, 'apply', flag, tiny)),
    )
    rows.push({ label: `realm ${command}, 1 file`, git: `${gitCommand}, 1 file: the fixed costs`, realm: fixed.realm, plain: fixed.plain })
  }
  process.stderr.write('1-file ')

  const stat = await pair(
    reps,
    checked('realm diff --stat', realmIn(project, 'diff', 'big', '--stat')),
    checked('git apply --stat', gitIn(project, 'apply', '--stat', big.patch)),
  )
  rows.push({ label: 'realm diff --stat', git: 'git apply --stat', realm: stat.realm, plain: stat.plain })
  process.stderr.write('stat ')

  const diff = await pair(
    reps,
    checked('realm diff', realmIn(project, 'diff', 'big'), (r) => r.stdoutBytes > big.bytes * 0.9),
    checked('git diff', gitIn(big.gitside, 'diff', '--patch-with-stat', '-M', big.base, big.agent)),
  )
  rows.push({ label: 'realm diff (to a pipe)', git: 'git diff --patch-with-stat of the trees', realm: diff.realm, plain: diff.plain })
  process.stderr.write('diff ')

  const check = await pair(
    reps,
    checked('realm apply --check', realmIn(project, 'apply', 'big', '--check'), (r) => /apply cleanly/.test(r.stderr)),
    checked('git apply --check', gitIn(project, 'apply', '--check', big.patch)),
  )
  rows.push({ label: 'realm apply --check', git: 'git apply --check', realm: check.realm, plain: check.plain })
  process.stderr.write('check ')

  const clean = () => {
    git(project, 'reset', '-q', '--hard')
    git(project, 'clean', '-fdq')
  }
  const apply = await pair(
    reps,
    checked('realm apply', realmIn(project, 'apply', 'big'), (r) => /applied the session's changes/.test(r.stderr)),
    checked('git apply', gitIn(project, 'apply', big.patch)),
    clean,
  )
  clean()
  rows.push({ label: 'realm apply', git: 'git apply', realm: apply.realm, plain: apply.plain })
  process.stderr.write('apply ')

  // Every push starts afresh: realm's in a new project (no object of the patch in it yet) to a new origin,
  // git's from the repository that has the agent's commit, to a new origin that has the base.
  let round = 0
  const push = await pair(
    reps,
    async () => {
      const where = path.join(dir, `push-${++round}`)
      const pushed = await bigSession(where, home, `push-${round}`, big)
      return ok('realm push', await realmIn(pushed, 'push', `push-${round}`)())
    },
    async () => {
      const origin = path.join(dir, `git-origin-${round}.git`)
      git(dir, 'init', '-q', '--bare', origin)
      git(big.gitside, 'push', '-q', origin, `${big.base}:refs/heads/main`)
      return ok('git push', await gitIn(big.gitside, 'push', '-q', origin, `${big.agent}:refs/heads/agent`)())
    },
  )
  rows.push({ label: 'realm push', git: 'git push of the same commit', realm: push.realm, plain: push.plain })
  process.stderr.write('push\n')

  // Memory: the most realm diff held at once, for a patch it streams.
  let rss: number | undefined
  if (fs.existsSync('/usr/bin/time')) {
    const r = ok(
      'realm diff',
      await timed('/usr/bin/time', ['-f', 'maxrss %M', REALM_BIN, 'diff', 'big'], { cwd: project, env, discard: true }),
    )
    rss = Number(/maxrss (\d+)/.exec(r.stderr)?.[1]) * 1024
  }

  const report = new Report()
  report.add(
    `big patch: ${(BIG.modified + BIG.added).toLocaleString('en-US')} files (${BIG.added.toLocaleString('en-US')} added, ${BIG.modified.toLocaleString('en-US')} modified), ${(big.bytes / 1e6).toFixed(1)} MB; median of ${reps} runs, realm and git in turn`,
    `${'command'.padEnd(28)}${'realm'.padStart(8)}${'git'.padStart(8)}${'ratio'.padStart(8)}   target       git command`,
  )
  for (const row of rows) {
    const r = row.realm / row.plain
    // The 1-file rows are for reading the others by: what any run of either costs, whatever the patch.
    const verdict = row.label.endsWith('1 file')
      ? '        '
      : report.judge(`≤ ${BIG_TARGET}`, [r > BIG_TARGET && `${row.label}: ${r.toFixed(2)}× ${row.git}`])
    report.add(`${row.label.padEnd(28)}${secs(row.realm)}${secs(row.plain)}${ratio(r)}   ${verdict}   ${row.git}`)
  }
  if (rss === undefined) report.add('realm diff max RSS: not measured (no /usr/bin/time)')
  else {
    const times = rss / big.bytes
    const verdict = report.judge(`< ${BIG_MEMORY_TARGET}`, [
      times >= BIG_MEMORY_TARGET && `realm diff max RSS ${times.toFixed(2)}× the patch`,
    ])
    report.add(
      `realm diff max RSS ${(rss / 1e6).toFixed(0)} MB for a ${(big.bytes / 1e6).toFixed(1)} MB patch: ${times.toFixed(2)}×   ${verdict}`,
    )
  }
  return report
}
