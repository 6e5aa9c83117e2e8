// The settings every git process of realm's on the host runs with (see exec.ts), apart from execa, so that a
// command that runs git once, on its hot path, can do so without loading execa (see check.ts).
import os from 'node:os'

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

/** HERMETIC_CONFIG as git's arguments. */
export const HERMETIC_ARGS: readonly string[] = HERMETIC_CONFIG.flatMap((setting) => ['-c', setting])

/** Environment that hides the system and global git configuration; the repository's own stays visible. */
export const ISOLATED_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, GIT_TERMINAL_PROMPT: '0' }
