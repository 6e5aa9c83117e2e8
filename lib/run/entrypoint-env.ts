// What realm tells the entrypoint of a run's container, the same for a local and a streamed run: the session it
// works on, the agent's git identity, and the network's values (NAME=value) and secrets (passed by name only).
import { AGENT_IDENTITY, passedEnv } from '../container/agent-env.js'
import { type GitSettings, identityEnv } from '../git/settings.js'
import { traceEnabled } from '../common/trace.js'
import type { Egress } from '../net/egress.js'
import type { Session } from '../session/store.js'
import { ENV } from './protocol.js'
import type { RunMode } from './save.js'

export interface EntrypointEnvInput {
  session: Session
  mode: RunMode
  includeIgnored: boolean
  tty: boolean
  /** realm's own environment, whose pass-through names the agent gets */
  env: NodeJS.ProcessEnv
  identity: GitSettings['identity']
  network?: Pick<Egress, 'env' | 'secretEnv' | 'join'>
}

export function entrypointEnv(input: EntrypointEnvInput): { env: Record<string, string>; passEnv: string[] } {
  const { session, network } = input
  return {
    env: {
      [ENV.mode]: input.mode,
      [ENV.base]: session.meta.baseCommit,
      ...(session.meta.branch ? { [ENV.branch]: session.meta.branch } : {}),
      ...(session.meta.subdir ? { [ENV.subdir]: session.meta.subdir } : {}),
      ...(input.includeIgnored ? { [ENV.includeIgnored]: '1' } : {}),
      // A `new --remote` session starts from the remote branch's tip alone, not from the user's checkout.
      ...(input.mode === 'new' && session.meta.remote ? { [ENV.cleanStart]: '1' } : {}),
      ...identityEnv(input.identity, AGENT_IDENTITY),
      ...(traceEnabled() ? { [ENV.trace]: '1' } : {}),
      ...(network?.join ? { [ENV.netWait]: '1' } : {}),
      ...network?.env,
    },
    passEnv: [...passedEnv(input.env, input.tty), ...Object.keys(network?.secretEnv ?? {})],
  }
}
