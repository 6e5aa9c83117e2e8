// Where sessions live: $REALM_HOME/sessions/<name>/, in the original realm's layout.
import path from 'node:path'

import { realmHome } from '../common/paths.js'

export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(realmHome(env), 'sessions')
}

export function sessionDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(sessionsDir(env), name)
}
