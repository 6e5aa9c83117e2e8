import os from 'node:os'
import path from 'node:path'

export function realmHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.REALM_HOME || path.join(os.homedir(), '.realm'))
}

export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(realmHome(env), 'sessions')
}

export function sessionDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(sessionsDir(env), name)
}

/** realm's scratch space: under $REALM_HOME, because nothing outside it may be written on the host. */
export function scratchDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(realmHome(env), 'tmp')
}

/** docker/ next to the built code (dist/../docker): the entrypoint and the default image's Dockerfile. */
export function dockerDir(): string {
  return path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'docker')
}
