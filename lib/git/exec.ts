// How realm runs the system git on the host: hermetic settings, so that nothing in the user's configuration can
// change a patch or run the user's code on realm's behalf. Every git process on the host starts here.
import { execa, type Options } from 'execa'

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
  return execa('git', [...HERMETIC_ARGS, ...args], {
    cwd: root,
    env: { ...(isolated ? ISOLATED_ENV : {}), ...env },
    stripFinalNewline: true,
    ...rest,
  })
}

/** NUL-separated paths as git prints them with -z. */
export function nulPaths(text: string): string[] {
  return text.split('\0').filter(Boolean)
}
