// Section `new`, second table: the start ratio of the smallest repository (overlay) under each --network mode,
// and what the default policy (allowlist) costs over an unfiltered network. Beside each ratio: realm's own time
// before `docker run` (REALM_TRACE's figure: from realm's first line of code to the spawn of the agent's
// `docker run`, Node's own start left out), the part of a run that is realm's alone; the rest is Node's start,
// what docker does anyway, and the save. Every run here is traced, the bare `docker run` and the ratio with it.
import { dockerTrue, type RealmRun, realmNew } from './realm-new.js'
import { makeRepo, SIZES } from './repos.js'
import { median } from './runner.js'
import { Report, ratio, secs } from './table.js'

const NETWORK_MODES = ['allowlist', 'model', 'open', 'host'] as const
/**
 * The default policy once more without standby sidecars (REALM_NET_STANDBY=0), as the first run after ten
 * quiet minutes is: each run then starts a sidecar of its own.
 */
const COLD = 'allowlist, no standby'
/**
 * The default policy on the relay path (REALM_NET_PATH=relay), which every engine but a local rootful Docker
 * takes: a sidecar with no network, and realm-relay started in it; no standby.
 */
const RELAY = 'allowlist, relay'
/** Targets of the default network policy (allowlist): its start ratio, and its cost over an open network. */
const NETWORK_TARGET = 2
const POLICY_COST_SECONDS = 0.1
/** Target of realm's own time before `docker run`, under every network mode. */
const OWN_TARGET_SECONDS = 0.15
const OWN_JUDGED = NETWORK_MODES

export async function benchNetworkModes(tmpRoot: string, home: string, reps: number): Promise<Report> {
  const repo = makeRepo(tmpRoot, { ...SIZES[0], label: `${SIZES[0].label}-network` })
  const traced = { REALM_TRACE: '1' }
  const runs: Record<string, RealmRun[]> = { [COLD]: [], [RELAY]: [] }
  const dockerTimes: number[] = []
  for (const mode of NETWORK_MODES) runs[mode] = []
  const cold = () => realmNew(home, repo, 'overlay', 'allowlist', { ...traced, REALM_NET_STANDBY: '0' })
  const relay = () => realmNew(home, repo, 'overlay', 'allowlist', { ...traced, REALM_NET_PATH: 'relay' })
  for (const mode of NETWORK_MODES) await realmNew(home, repo, 'overlay', mode, traced) // warm-up
  await cold()
  await relay()
  for (let i = 0; i < reps; i++) {
    dockerTimes.push(await dockerTrue())
    for (const mode of NETWORK_MODES) runs[mode].push(await realmNew(home, repo, 'overlay', mode, traced))
    runs[COLD].push(await cold())
    runs[RELAY].push(await relay())
  }
  const docker = median(dockerTimes)
  const seconds = (label: string) => median(runs[label].map((r) => r.seconds))
  const own = (label: string) => median(runs[label].map((r) => r.own ?? Number.NaN))
  const report = new Report()
  /** One row: the median of `label`'s runs against docker's, realm's own time; `after`: the verdict or a note. */
  const row = (label: string, after: (ratio: number) => string) => {
    const r = seconds(label) / docker
    return `network ${label.padEnd(10)}${secs(docker)}${secs(seconds(label))}${ratio(r)}   own${secs(own(label), 3)}${after(r)}`
  }
  for (const mode of NETWORK_MODES) {
    report.add(
      row(mode, (r) => {
        if (mode !== 'allowlist') return `   (${SIZES[0].label} files, overlay)`
        // The default policy's own target: its start ratio.
        const verdict = report.judge(`≤ ${NETWORK_TARGET}`, [
          r > NETWORK_TARGET && `network allowlist: ratio ${r.toFixed(2)} > ${NETWORK_TARGET}`,
        ])
        return `   ${verdict}   (${SIZES[0].label} files, overlay)`
      }),
    )
  }
  report.add(row(COLD, () => '   (the first run after ten quiet minutes)'))
  report.add(row(RELAY, () => '   (every engine but a local rootful Docker)'))
  // And what it costs over an unfiltered network.
  const cost = seconds('allowlist') - seconds('open')
  const verdict = report.judge(`≤ ${POLICY_COST_SECONDS} s`, [
    cost > POLICY_COST_SECONDS && `the default policy costs ${cost.toFixed(2)} s over --network open (> ${POLICY_COST_SECONDS} s)`,
  ])
  report.add(`the default policy over --network open: ${cost >= 0 ? '+' : ''}${cost.toFixed(2)} s   ${verdict}`)
  // realm's own time before docker run (median of the runs above), where the target applies.
  const owns = OWN_JUDGED.map((mode) => `${mode} ${own(mode).toFixed(3)} s`).join(', ')
  const ownVerdict = report.judge(
    `≤ ${OWN_TARGET_SECONDS} s`,
    OWN_JUDGED.map(
      (mode) =>
        !(own(mode) <= OWN_TARGET_SECONDS) &&
        `realm's own time before docker run (${mode}): ${own(mode).toFixed(3)} s > ${OWN_TARGET_SECONDS} s`,
    ),
  )
  report.add(`realm's own time before docker run: ${owns}   ${ownVerdict}`)
  return report
}
