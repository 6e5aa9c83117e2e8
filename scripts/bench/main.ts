// `npm run bench`: how long `realm new` takes next to a bare `docker run --rm <image> true`, for repositories of
// several sizes and for each workspace strategy, plus how fast the CLI starts, how realm's commands fare on a big
// patch next to plain git, what the entrypoint's snapshots cost an agent that writes many ignored files, and realm
// new on the other engines (a remote Docker engine, Podman) next to a bare run on each.
//
// This is a measurement, not a test: it exits 0 even when a target is missed, but says so. Each section lives in
// its own file of this folder and returns its lines; they are printed together once all have run.
//
//   npm run bench -- [--reps N] [--sizes 10,5k,20k,5k+ignored] [--strategies overlay,copy] [--only new,cli,big-patch,snapshot,engines] [--keep]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { ensureTestImage } from '../../test/helpers/docker.js'
import { benchBigPatch } from './big-patch.js'
import { benchCliStart } from './cli-start.js'
import { benchEngines } from './engines.js'
import { benchNetworkModes } from './network.js'
import { benchSizes, sizeLegend } from './new-sizes.js'
import { parseOptions } from './options.js'
import { fatal, git, IMAGE, makeTempRoot, ROOT } from './runner.js'
import { print, type Report } from './table.js'
import { benchSnapshots } from './snapshot.js'

async function main(): Promise<void> {
  const { reps, sizes, strategies, only, keep } = parseOptions()
  const tmpRoot = makeTempRoot(keep)
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) fatal('dist/ is missing: run `npm run build` (npm run bench does)')
  // Only realm new, the snapshot runs and the other engines (whose images come from it) need the engine.
  let docker = 'not used'
  if (only.has('new') || only.has('snapshot') || only.has('engines')) {
    const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' })
    if (info.status !== 0) fatal(`no Docker engine: ${(info.stderr || info.error?.message || '').trim().split('\n')[0]}`)
    await ensureTestImage()
    docker = info.stdout.trim()
  }

  const gitVersion = git(tmpRoot, '--version').trim()
  console.log(
    `realm bench — ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}, ${gitVersion}, docker ${docker}, image ${IMAGE}`,
  )
  if (only.has('new')) console.log(`median of ${reps} interleaved runs; realm new runs a stand-in agent that writes one file`)
  console.log('')

  // Run in this order, printed in the order of `shown`; the summary lists the misses in the order of `judged`.
  const home = path.join(tmpRoot, 'home')
  const newSizes = only.has('new') ? await benchSizes(tmpRoot, home, sizes, strategies, reps) : undefined
  const network = only.has('new') ? await benchNetworkModes(tmpRoot, home, reps) : undefined
  const cli = only.has('cli') ? await benchCliStart(tmpRoot, home, reps) : undefined
  const big = only.has('big-patch') ? await benchBigPatch(tmpRoot, reps) : undefined
  const snapshot = only.has('snapshot') ? await benchSnapshots(tmpRoot, home, strategies, reps) : undefined
  const engines = only.has('engines') ? await benchEngines(tmpRoot, home, reps) : undefined
  const legend = only.has('new') ? sizeLegend(sizes) : undefined

  const ran = (reports: Array<Report | undefined>) => reports.filter((report) => report !== undefined)
  print(ran([newSizes, network, cli, big, snapshot, engines, legend]), ran([newSizes, cli, network, big, snapshot]))
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
