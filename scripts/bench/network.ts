// Section `new`, second table: the start ratio of the smallest repository (overlay) under each --network mode,
// and what the default policy (allowlist) costs over an unfiltered network.
import { dockerTrue, realmNew } from './realm-new.js'
import { makeRepo, SIZES } from './repos.js'
import { median } from './runner.js'
import { Report, ratio, secs } from './table.js'

const NETWORK_MODES = ['allowlist', 'model', 'open', 'host'] as const
/**
 * The default policy once more without standby sidecars (REALM_NET_STANDBY=0), as the first run after ten
 * quiet minutes is: each run then starts a sidecar of its own.
 */
const COLD = 'allowlist, no standby'
/** Targets of the default network policy (allowlist): its start ratio, and its cost over an open network. */
const NETWORK_TARGET = 2
const POLICY_COST_SECONDS = 0.1

export async function benchNetworkModes(tmpRoot: string, home: string, reps: number): Promise<Report> {
  const repo = makeRepo(tmpRoot, { ...SIZES[0], label: `${SIZES[0].label}-network` })
  const times: Record<string, number[]> = { docker: [], [COLD]: [] }
  for (const mode of NETWORK_MODES) times[mode] = []
  const cold = () => realmNew(home, repo, 'overlay', 'allowlist', { REALM_NET_STANDBY: '0' })
  for (const mode of NETWORK_MODES) await realmNew(home, repo, 'overlay', mode) // warm-up
  await cold()
  for (let i = 0; i < reps; i++) {
    times.docker.push(await dockerTrue())
    for (const mode of NETWORK_MODES) times[mode].push(await realmNew(home, repo, 'overlay', mode))
    times[COLD].push(await cold())
  }
  const docker = median(times.docker)
  const report = new Report()
  /** One row: the median of `label`'s runs against docker's; `after`: the verdict or a note. */
  const row = (label: string, after: (ratio: number) => string) => {
    const realm = median(times[label])
    const r = realm / docker
    return `network ${label.padEnd(10)}${secs(docker)}${secs(realm)}${ratio(r)}${after(r)}`
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
  // And what it costs over an unfiltered network.
  const cost = median(times.allowlist) - median(times.open)
  const verdict = report.judge(`≤ ${POLICY_COST_SECONDS} s`, [
    cost > POLICY_COST_SECONDS && `the default policy costs ${cost.toFixed(2)} s over --network open (> ${POLICY_COST_SECONDS} s)`,
  ])
  report.add(`the default policy over --network open: ${cost >= 0 ? '+' : ''}${cost.toFixed(2)} s   ${verdict}`)
  return report
}
