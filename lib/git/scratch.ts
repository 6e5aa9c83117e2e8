// Scratch space for git work that must not touch the user's repository: private indexes and object stores.
import fsp from 'node:fs/promises'
import path from 'node:path'

import { scratchDir } from '../common/paths.js'
import { privateDir } from '../common/private.js'
import { processAlive } from '../common/process.js'

/** Removes scratch directories of realm processes that were killed before they could clean up. */
async function pruneScratch(): Promise<void> {
  for (const name of await fsp.readdir(scratchDir()).catch(() => [] as string[])) {
    const pid = /^scratch-(\d+)-/.exec(name)?.[1] // tmp-promise names them <prefix>-<pid>-<random>
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) {
      await fsp.rm(path.join(scratchDir(), name), { recursive: true, force: true })
    }
  }
}

/** A scratch directory under $REALM_HOME/tmp, removed afterwards whatever happens. */
export async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  // The CommonJS module itself is the default export, in the bundle and under Node alike.
  const { dir } = (await import('tmp-promise')).default
  await privateDir(scratchDir())
  await pruneScratch()
  const scratch = await dir({ tmpdir: scratchDir(), prefix: 'scratch', unsafeCleanup: true })
  try {
    return await fn(scratch.path)
  } finally {
    await scratch.cleanup()
  }
}
