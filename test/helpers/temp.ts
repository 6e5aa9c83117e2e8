// Temporary directories that tests own and remove.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** A fresh temp directory (its real path: macOS puts /tmp behind a symlink), removed by `cleanup`. */
export async function tempDir(prefix = 'realm-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  return { path: await fs.realpath(dir), cleanup: () => fs.rm(dir, { recursive: true, force: true }) }
}

/** Runs `fn` in a temp directory and removes it afterwards, whatever happens. */
export async function inTempDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await tempDir(prefix)
  try {
    return await fn(dir.path)
  } finally {
    await dir.cleanup()
  }
}
