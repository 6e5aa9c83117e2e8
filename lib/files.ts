import fs from 'node:fs/promises'

import { errorCode } from './errors.js'

export async function pathExists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false)
}

/** `file` when it exists and is not empty (an empty patch means "no changes"), else undefined. */
export async function nonEmptyFile(file: string): Promise<string | undefined> {
  try {
    return (await fs.stat(file)).size > 0 ? file : undefined
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}
