// Whether a patch applies to the working tree, answered by one git process started with node's own spawn:
// `realm apply --check` on a big patch costs git's time plus realm's start, and loading execa alone would add a
// sixth of git's time to that.
import { spawn } from 'node:child_process'

import { HERMETIC_ARGS, ISOLATED_ENV } from './hermetic.js'

/** Whether `patch` applies to the working tree of `root` as it is (git checks every file, changes none). */
export function appliesCleanly(root: string, patch: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...HERMETIC_ARGS, 'apply', '--check', '--binary', patch], {
      cwd: root,
      env: { ...process.env, ...ISOLATED_ENV },
      stdio: 'ignore',
    })
    child.on('error', reject)
    child.on('close', (code) => resolve(code === 0))
  })
}
