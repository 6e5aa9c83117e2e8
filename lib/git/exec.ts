// How realm runs the system git on the host: hermetic settings, so that nothing in the user's configuration can
// change a patch or run the user's code on realm's behalf. Every git process on the host starts here.
// execa is loaded on the first call, not with this module: the way to the agent's container runs no git of
// these, and execa is the largest package realm loads (see common/spawn.ts). A run loads it while its container
// starts (loadGit).
import type { Options } from 'execa'

import { HERMETIC_ARGS, ISOLATED_ENV } from './hermetic.js'

/** How every patch realm writes is made, whatever the configuration says (the container uses the same list). */
export const PATCH_OPTIONS = [
  '--binary',
  '--full-index',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '-M',
] as const

/** `isolated: false` keeps the user's global configuration: reaching a remote needs its credentials and ssh settings. */
export async function git(root: string, args: string[], options: Options & { isolated?: boolean } = {}) {
  const { isolated = true, env, ...rest } = options
  const { execa } = await loadGit()
  return execa('git', [...HERMETIC_ARGS, ...args], {
    cwd: root,
    env: { ...(isolated ? ISOLATED_ENV : {}), ...env },
    stripFinalNewline: true,
    ...rest,
  })
}

let loading: Promise<typeof import('execa')> | undefined

/** Loads what git() runs git with, once; a run starts this while docker starts its container, when realm waits anyway. */
export function loadGit(): Promise<typeof import('execa')> {
  loading ??= import('execa')
  return loading
}

/** NUL-separated paths as git prints them with -z. */
export function nulPaths(text: string): string[] {
  return text.split('\0').filter(Boolean)
}
