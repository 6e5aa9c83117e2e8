// Section `engines`: realm new on engines besides the host's Docker, each next to a bare `run --rm <image> true`
// on the same engine in the same round. A remote Docker engine (the stand-in of the e2e tests: a second dockerd
// in a container, over tcp), for a small and a large repository: the first run of a project (its objects all
// sent; the engine's cache of the project removed before each round) and a later one (the cache warm). Podman,
// when it is installed: realm's start next to a bare `podman run`. Under --network open, which every engine runs.
// A cell that fails says so in place of its ratio.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'

import { PODMAN_NOFILE, PODMAN_NPROC } from '../../lib/container/engine-dialect.js'
import { hostLimits } from '../../lib/container/engine-kind.js'
import { startRemoteEngine } from '../../test/helpers/remote-engine.js'
import { realmNew } from './realm-new.js'
import { describe, makeRepo, SIZES, type Size } from './repos.js'
import { IMAGE, median, timed } from './runner.js'
import { Report, ratio, secs } from './table.js'

const NET_IMAGE = process.env.REALM_TEST_NET_IMAGE ?? 'realm-test-net:latest'

interface Cell {
  label: string
  /** the bare run's and realm's medians, or why the cell has none */
  result: { bare: number; realm: number } | string
}

/**
 * The ulimits realm gives a container on Podman (engine-dialect.ts), which a bare run needs too wherever Podman's
 * own defaults exceed the host's hard limits.
 */
function podmanUlimits(): string[] {
  const limits = hostLimits()
  const nofile = Math.min(limits.nofile ?? PODMAN_NOFILE, PODMAN_NOFILE)
  const nproc = Math.min(limits.nproc ?? PODMAN_NPROC, PODMAN_NPROC)
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`]
}

/** A bare `<program> run --rm <image> true` against the engine `env` names. */
async function bareRun(program: string, env: Record<string, string>): Promise<number> {
  const flags = program === 'podman' ? podmanUlimits() : []
  const run = await timed(program, ['run', '--rm', ...flags, IMAGE, 'true'], { env: { ...process.env, ...env } })
  if (run.code !== 0) throw new Error(`${program} run --rm ${IMAGE} true failed: ${run.stderr.trim().split('\n')[0]}`)
  return run.seconds
}

/** What went wrong, in one line for a cell: realm's own line when it said one. */
function why(error: unknown): string {
  const lines = String(error instanceof Error ? error.message : error)
    .split('\n')
    .filter((line) => line.trim())
  return `failed: ${lines.find((line) => line.startsWith('realm: ')) ?? lines[0]}`
}

/** Median times of `bare` and `realm` in interleaved rounds after one untimed round; `reset` before each round. */
async function rounds(
  reps: number,
  bare: () => Promise<number>,
  realm: () => Promise<number>,
  reset: () => Promise<void> = async () => {},
): Promise<{ bare: number; realm: number }> {
  const times = { bare: [] as number[], realm: [] as number[] }
  for (let i = 0; i <= reps; i++) {
    await reset()
    const b = await bare()
    const r = await realm()
    if (i > 0) {
      times.bare.push(b)
      times.realm.push(r)
    }
  }
  return { bare: median(times.bare), realm: median(times.realm) }
}

async function remoteCells(tmpRoot: string, home: string, reps: number): Promise<Cell[]> {
  process.stderr.write('bench: engines: starting the remote engine stand-in… ')
  const engine = await startRemoteEngine({ images: [IMAGE, NET_IMAGE] })
  process.stderr.write('up\n')
  const docker = (...args: string[]) => spawnSync('docker', args, { env: { ...process.env, ...engine.env }, encoding: 'utf8' })
  /** Removes the engine's cache of every project, so that the next run is a project's first there. */
  const dropCaches = async () => {
    const volumes = docker('volume', 'ls', '-q', '--filter', 'name=realm-cache-').stdout.split('\n').filter(Boolean)
    if (volumes.length) docker('volume', 'rm', '-f', ...volumes)
  }
  const cells: Cell[] = []
  try {
    for (const size of SIZES.filter((s) => s.label === '10' || s.label === '5k')) {
      const repo = makeRepo(tmpRoot, size)
      const bare = () => bareRun('docker', engine.env)
      const realm = async () => (await realmNew(home, repo, 'copy', 'open', engine.env)).seconds
      for (const [when, reset] of [
        ['first run', dropCaches],
        ['later run', async () => {}],
      ] as const) {
        const label = `remote ${size.label.padEnd(4)}${when}`
        process.stderr.write(`bench: engines: ${label}… `)
        cells.push({ label, result: await rounds(reps, bare, realm, reset).catch(why) })
        process.stderr.write('\n')
      }
      fs.rmSync(repo, { recursive: true, force: true })
    }
  } finally {
    await engine.stop()
  }
  return cells
}

async function podmanCell(tmpRoot: string, home: string, reps: number, size: Size): Promise<Cell> {
  const label = `podman ${size.label.padEnd(4)}start`
  if (spawnSync('podman', ['--version']).status !== 0) return { label, result: 'podman not installed' }
  // Podman has a store of its own: the images come over from Docker's.
  for (const image of [IMAGE, NET_IMAGE]) {
    const load = spawnSync('sh', ['-c', `docker save "$1" | podman load -q`, 'sh', image], { encoding: 'utf8' })
    if (load.status !== 0) return { label, result: `failed: loading ${image} into podman: ${load.stderr.trim().split('\n')[0]}` }
  }
  const repo = makeRepo(tmpRoot, size)
  const env = { REALM_ENGINE: 'podman' }
  const realm = async () => (await realmNew(home, repo, 'copy', 'open', env)).seconds
  const result = await rounds(reps, () => bareRun('podman', {}), realm).catch(why)
  fs.rmSync(repo, { recursive: true, force: true })
  return { label, result }
}

export async function benchEngines(tmpRoot: string, home: string, reps: number): Promise<Report> {
  const cells = await remoteCells(tmpRoot, home, reps).catch((error) => [{ label: 'remote', result: why(error) }] as Cell[])
  cells.push(await podmanCell(tmpRoot, home, reps, SIZES[0]))
  const report = new Report()
  report.add(
    `${'engine'.padEnd(22)}${'bare run'.padStart(9)}${'realm'.padStart(8)}${'ratio'.padStart(8)}   (--network open, copy workspace)`,
  )
  for (const { label, result } of cells) {
    if (typeof result === 'string') report.add(`${label.padEnd(22)}  ${result}`)
    else report.add(`${label.padEnd(22)} ${secs(result.bare)}${secs(result.realm)}${ratio(result.realm / result.bare)}`)
  }
  report.add(`  remote: a second dockerd over tcp on this machine; 10 and 5k: ${describe(SIZES[0])}, ${describe(SIZES[1])}`)
  return report
}
