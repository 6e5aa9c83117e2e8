import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export function realmHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.REALM_HOME || path.join(os.homedir(), '.realm'))
}

/** realm's scratch space: under $REALM_HOME, because nothing outside it may be written on the host. */
export function scratchDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(realmHome(env), 'tmp')
}

/**
 * realm's installed package: the nearest directory upwards from this code with a package.json (dist/ when
 * bundled, lib/common/ when run from source). fileURLToPath, not URL.pathname: the install path may hold
 * spaces or non-ASCII letters, which a URL keeps percent-encoded.
 */
export function packageRoot(from = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(from))
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(from)}`)
    dir = parent
  }
  return dir
}

/** docker/ in the package: the entrypoint and the default image's Dockerfile. */
export function dockerDir(): string {
  return path.join(packageRoot(), 'docker')
}
