// Section `snapshot`: while the agent works the entrypoint captures its work every REALM_SNAPSHOT_SECONDS
// (default 3). An agent that writes 30,000 ignored files (an npm install) must not pay more than 5% of its run for
// that. The target is read from the snapshots themselves: REALM_TRACE has the entrypoint mark each one's start and
// end, and their sum is set against the run's time. The same agent, doing the same fixed amount of work, also runs
// with snapshots off (an interval longer than the run, passed the supported way: REALM_DOCKER_ARGS), interleaved,
// for the wall-clock difference; runs of half a minute differ by a few percent from one to the next on their own,
// so that figure is shown, not judged.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import type { Strategy } from './options.js'
import { makeRepo } from './repos.js'
import { git, median, REALM_BIN, realmEnv, sessionName, timed } from './runner.js'
import { Report, secs } from './table.js'

const SNAPSHOT = { ignored: 30_000, batches: 30, seconds: 15, target: 0.05 }

/** Iterations of the shell's counting loop per second on this machine (the container runs this machine's sh). */
function shellLoopsPerSecond(): number {
  const loops = 300_000
  const start = process.hrtime.bigint()
  const r = spawnSync('sh', ['-c', `n=0; while [ $n -lt ${loops} ]; do n=$((n+1)); done`])
  if (r.status !== 0) throw new Error('sh counting loop failed')
  return loops / (Number(process.hrtime.bigint() - start) / 1e9)
}

/**
 * The stand-in agent's script: in each of SNAPSHOT.batches rounds it writes its share of the ignored files into
 * node_modules/, then counts (CPU-bound work) for its share of SNAPSHOT.seconds, so snapshots keep meeting a
 * growing node_modules. A fixed amount of work, not a fixed time: whatever the snapshots take shows in the run.
 */
function heavyAgent(loops: number): string {
  const perBatch = SNAPSHOT.ignored / SNAPSHOT.batches
  const work = Math.round((loops * SNAPSHOT.seconds) / SNAPSHOT.batches)
  return [
    'i=0',
    `while [ $i -lt ${SNAPSHOT.batches} ]; do`,
    '  mkdir -p node_modules/pkg$i/lib',
    `  j=0; while [ $j -lt ${perBatch} ]; do echo "module.exports = '$i.$j'" > node_modules/pkg$i/lib/f$j.js; j=$((j+1)); done`,
    `  n=0; while [ $n -lt ${work} ]; do n=$((n+1)); done`,
    '  i=$((i+1))',
    'done',
    'echo done > agent-work.txt',
  ].join('\n')
}

/** The seconds the entrypoint's snapshots took, and how many there were, from its REALM_TRACE lines. */
function snapshotTime(stderr: string): { seconds: number; count: number } {
  let seconds = 0
  let count = 0
  let started: number | undefined
  for (const line of stderr.split('\n')) {
    const match = /^realm-trace (\d+) entrypoint: (snapshot|snapshot taken)$/.exec(line)
    if (!match) continue
    const at = Number(match[1])
    if (match[2] === 'snapshot') started = at
    else if (started !== undefined) {
      seconds += (at - started) / 1000
      count++
      started = undefined
    }
  }
  return { seconds, count }
}

async function heavyRun(
  home: string,
  repo: string,
  strategy: Strategy,
  script: string,
  snapshots: boolean,
): Promise<{ seconds: number; snapshots: { seconds: number; count: number } }> {
  const name = sessionName(`snap-${strategy}`)
  const env = realmEnv(home, {
    REALM_WORKSPACE: strategy,
    REALM_TRACE: '1',
    // The entrypoint's interval, set for this run alone; a day is longer than any run here.
    ...(snapshots ? {} : { REALM_DOCKER_ARGS: '-e REALM_SNAPSHOT_SECONDS=86400' }),
  })
  const run = await timed(REALM_BIN, ['new', name, script], { cwd: repo, env })
  let patch = ''
  try {
    patch = fs.readFileSync(path.join(home, 'sessions', name, 'changes.patch'), 'utf8')
  } catch {}
  const problem =
    run.code !== 0
      ? `exit ${run.code}`
      : !patch.includes('agent-work.txt')
        ? 'changes.patch lacks agent-work.txt'
        : patch.includes('node_modules/')
          ? 'changes.patch has ignored files'
          : undefined
  const removed = await timed(REALM_BIN, ['remove', name, '--yes'], { cwd: repo, env }) // not timed
  if (problem)
    throw new Error(`realm new (${strategy}, snapshots ${snapshots ? 'on' : 'off'}) failed: ${problem}\n${run.stdout}${run.stderr}`)
  if (removed.code !== 0) throw new Error(`realm remove ${name} failed:\n${removed.stdout}${removed.stderr}`)
  return { seconds: run.seconds, snapshots: snapshotTime(run.stderr) }
}

export async function benchSnapshots(tmpRoot: string, home: string, strategies: Strategy[], reps: number): Promise<Report> {
  const repo = makeRepo(tmpRoot, { label: 'snapshot', files: 10, bytes: 1024 })
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n')
  git(repo, 'add', '.gitignore')
  git(repo, 'commit', '-q', '-m', 'ignore node_modules')
  const script = heavyAgent(shellLoopsPerSecond())
  const report = new Report()
  report.add(
    `snapshots: an agent writes ${SNAPSHOT.ignored.toLocaleString('en-US')} ignored files in ${SNAPSHOT.batches} rounds between about ${SNAPSHOT.seconds} s of work; realm new with snapshots every 3 s (the default) and off; median of ${reps}`,
    `${'workspace'.padEnd(12)}${'off'.padStart(8)}${'on'.padStart(8)}${'wall diff'.padStart(11)}${'snapshots'.padStart(11)}${'share'.padStart(8)}   target (share of the run in snapshots)`,
  )
  for (const strategy of strategies) {
    process.stderr.write(`bench: snapshots, ${strategy}: `)
    const times = { on: [] as number[], off: [] as number[], share: [] as number[], spent: [] as number[], count: [] as number[] }
    for (let i = 0; i <= reps; i++) {
      const off = await heavyRun(home, repo, strategy, script, false)
      const on = await heavyRun(home, repo, strategy, script, true)
      // The first round is not counted: page cache, docker's image layers, node's compile cache.
      if (i > 0) {
        times.off.push(off.seconds)
        times.on.push(on.seconds)
        times.spent.push(on.snapshots.seconds)
        times.count.push(on.snapshots.count)
        times.share.push(on.snapshots.seconds / on.seconds)
      }
      process.stderr.write(i === 0 ? 'warm-up ' : `${i}/${reps} `)
    }
    process.stderr.write('\n')
    const off = median(times.off)
    const on = median(times.on)
    const share = median(times.share)
    const count = median(times.count)
    // No snapshot at all misses the target whatever the share says: the entrypoint took none, or REALM_TRACE lost them.
    const verdict = report.judge(`≤ ${SNAPSHOT.target * 100}%`, [
      count === 0 && `snapshots (${strategy}): none was traced`,
      share > SNAPSHOT.target && `snapshots (${strategy}): ${(share * 100).toFixed(1)}% of the run`,
    ])
    report.add(
      `${strategy.padEnd(12)}${secs(off)}${secs(on)}${`${((on / off - 1) * 100).toFixed(1)}%`.padStart(11)}${`${median(times.spent).toFixed(2)}s/${count}`.padStart(11)}${`${(share * 100).toFixed(1)}%`.padStart(8)}   ${verdict}`,
    )
  }
  fs.rmSync(repo, { recursive: true, force: true })
  return report
}
