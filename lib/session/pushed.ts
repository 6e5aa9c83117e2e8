import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'

/** A fingerprint of the session's run patches, to tell whether what was pushed is still the latest. */
export async function patchDigest(patches: string[]): Promise<string> {
  const hash = createHash('sha256')
  for (const p of patches) hash.update(await fs.readFile(p))
  return hash.digest('hex')
}
