// Which image a run uses, and how realm builds its default one.
import fs from 'node:fs'
import path from 'node:path'

import { readTextOrUndefined } from '../common/files.js'

export const DEFAULT_IMAGE = 'realm:latest'

export function resolveImage(option: string | undefined, env = process.env): string {
  return option || env.REALM_IMAGE || DEFAULT_IMAGE
}

/**
 * `docker build` arguments for the default image on this machine, the same ones install.sh passes:
 * REALM_BASE_IMAGE as the base, and the certificate authorities the machine added itself (a TLS-inspecting
 * proxy's), without which npm inside the build cannot reach the registry.
 */
export function defaultImageBuildArgs(env: NodeJS.ProcessEnv = process.env, caDir = '/usr/local/share/ca-certificates'): string[] {
  const args: string[] = []
  if (env.REALM_BASE_IMAGE) args.push('--build-arg', `BASE_IMAGE=${env.REALM_BASE_IMAGE}`)
  let files: string[] = []
  try {
    files = fs
      .readdirSync(caDir)
      .filter((f) => f.endsWith('.crt'))
      .sort()
  } catch {
    // no local authorities
  }
  const pem = files
    .map((f) => readTextOrUndefined(path.join(caDir, f)) ?? '')
    .filter(Boolean)
    .join('\n')
  if (pem) args.push('--build-arg', `EXTRA_CA_CERTS=${pem}`)
  return args
}
