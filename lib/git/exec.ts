// How realm runs the system git on the host: hermetic settings, so that nothing in the user's configuration can
// change a patch or run the user's code on realm's behalf. Every git process on the host starts here.
import os from 'node:os'

import { execa, type Options } from 'execa'

/** Settings that could change a patch or run the user's code, switched off (as `-c` pairs). */
export const HERMETIC_CONFIG = [
  'core.hooksPath=/dev/null', // never run the repository's hooks
  'core.autocrlf=false', // patches carry bytes exactly as the agent left them
  'core.safecrlf=false',
  'core.attributesFile=/dev/null', // no user-wide attributes (filters, diff drivers)
  'core.quotePath=false',
  'commit.gpgSign=false', // realm's commits must not wait on a signing agent
  'apply.whitespace=nowarn', // a patch is applied as it is, trailing spaces included
  'gc.auto=0', // never start a gc in the user's repository
] as const

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

/** Environment that hides the system and global git configuration; the repository's own stays visible. */
const ISOLATED_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, GIT_TERMINAL_PROMPT: '0' }

/** `isolated: false` keeps the user's global configuration: reaching a remote needs its credentials and ssh settings. */
export async function git(root: string, args: string[], options: Options & { isolated?: boolean } = {}) {
  const { isolated = true, env, ...rest } = options
  return execa('git', [...HERMETIC_CONFIG.flatMap((setting) => ['-c', setting]), ...args], {
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
