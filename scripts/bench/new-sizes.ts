// Section `new`: how long realm new takes next to a bare `docker run --rm <image> true`, for each repository size
// and workspace strategy. Runs are interleaved (docker, realm overlay, realm copy, then again), so drift on a busy
// machine hits all of them alike, and each realm figure is read as a ratio to docker measured in the same run.
import fs from 'node:fs'

import type { Strategy } from './options.js'
import { dockerTrue, realmNew } from './realm-new.js'
import { describe, makeRepo, type Size } from './repos.js'
import { median } from './runner.js'
import { Report, ratio, secs } from './table.js'

const TARGET: Record<Strategy, number> = { overlay: 1.5, copy: 3 }

interface Row {
  strategy: Strategy
  docker: number
  realm: number
}

async function benchSize(tmpRoot: string, home: string, size: Size, strategies: Strategy[], reps: number): Promise<Row[]> {
  const t0 = Date.now()
  const repo = makeRepo(tmpRoot, size)
  process.stderr.write(`bench: ${size.label}: repository of ${describe(size)} made in ${((Date.now() - t0) / 1000).toFixed(1)} s; `)
  // One untimed round first: page cache, docker's image layers, node's compile cache.
  await dockerTrue()
  for (const strategy of strategies) await realmNew(home, repo, strategy)
  const dockerTimes: number[] = []
  const realmTimes: Record<Strategy, number[]> = { overlay: [], copy: [] }
  for (let rep = 0; rep < reps; rep++) {
    dockerTimes.push(await dockerTrue())
    for (const strategy of strategies) realmTimes[strategy].push((await realmNew(home, repo, strategy)).seconds)
    process.stderr.write(`${rep + 1}/${reps} `)
  }
  process.stderr.write('\n')
  fs.rmSync(repo, { recursive: true, force: true })
  const docker = median(dockerTimes)
  return strategies.map((strategy) => ({ strategy, docker, realm: median(realmTimes[strategy]) }))
}

export async function benchSizes(tmpRoot: string, home: string, sizes: Size[], strategies: Strategy[], reps: number): Promise<Report> {
  const report = new Report()
  report.add(`${'size'.padEnd(12)}${'workspace'.padEnd(10)}${'docker'.padStart(8)}${'realm'.padStart(8)}${'ratio'.padStart(8)}   target`)
  for (const size of sizes) {
    for (const row of await benchSize(tmpRoot, home, size, strategies, reps)) {
      const r = row.realm / row.docker
      const target = TARGET[row.strategy]
      const verdict = report.judge(`≤ ${target}`, [r > target && `${size.label} ${row.strategy}: ratio ${r.toFixed(2)} > ${target}`])
      report.add(`${size.label.padEnd(12)}${row.strategy.padEnd(10)}${secs(row.docker)}${secs(row.realm)}${ratio(r)}   ${verdict}`)
    }
  }
  return report
}

/** What each size label stands for, printed under the tables. */
export function sizeLegend(sizes: Size[]): Report {
  const report = new Report()
  report.add(...sizes.map((size) => `  ${size.label.padEnd(12)}${describe(size)}`))
  return report
}
