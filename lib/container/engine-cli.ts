// Which engine CLI realm drives: Docker's, or Podman's (its own CLI, which takes the same flags realm uses).
// REALM_ENGINE names it; otherwise docker when it is installed, else podman. Every process realm starts to talk
// to the engine goes through engineProgram(), so that one choice holds for the whole run.
import fs from 'node:fs'
import path from 'node:path'

import { UserError } from '../common/errors.js'

export type EngineProgram = 'docker' | 'podman'

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    try {
      fs.accessSync(path.join(dir, program), fs.constants.X_OK)
      return true
    } catch {
      // not in this directory
    }
  }
  return false
}

let chosen: { key: string; program: EngineProgram } | undefined

/** The engine CLI to run: REALM_ENGINE (docker or podman), else docker if installed, else podman if installed. */
export function engineProgram(env: NodeJS.ProcessEnv = process.env): EngineProgram {
  const key = `${env.REALM_ENGINE ?? ''}\0${env.PATH ?? ''}`
  if (chosen?.key === key) return chosen.program
  const program = chooseProgram(env.REALM_ENGINE, (name) => onPath(name, env))
  chosen = { key, program }
  return program
}

/** Pure: the choice, given REALM_ENGINE and which programs are installed. */
export function chooseProgram(named: string | undefined, installed: (name: EngineProgram) => boolean): EngineProgram {
  if (named === 'docker' || named === 'podman') return named
  if (named) throw new UserError(`REALM_ENGINE must be 'docker' or 'podman', not '${named}'`)
  if (installed('docker') || !installed('podman')) return 'docker'
  return 'podman'
}

/**
 * Pure: what to say when the engine's CLI is missing. `named`: REALM_ENGINE, when the user chose the program;
 * otherwise realm looked for docker and then podman, and found neither.
 */
export function missingEngineMessage(program: EngineProgram, named: string | undefined): string {
  if (program === 'podman') return 'podman is not installed (REALM_ENGINE=podman) — install Podman, or unset REALM_ENGINE to use Docker'
  if (named) return 'docker is not installed (REALM_ENGINE=docker) — install Docker Engine, or unset REALM_ENGINE to use Podman'
  return 'neither docker nor podman is installed — install Docker Engine (or Docker Desktop, or Podman) and try again'
}

/** The engine's CLI is not installed: which one, and what to do. */
export function engineMissing(env: NodeJS.ProcessEnv = process.env): UserError {
  return new UserError(missingEngineMessage(engineProgram(env), env.REALM_ENGINE))
}
