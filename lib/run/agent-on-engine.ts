// Who the agent's container runs as, and with what, on the engine at hand. On a rootful engine: the invoking
// user's uid:gid, so that what the agent writes is the user's. A rootless engine maps its containers' root to the
// user who started it and every other id to that user's subordinate ids: there the agent runs as root, which is
// the user outside, without the capabilities that would let it give files to other ids (CHOWN, SETUID, SETGID):
// a file owned by a subordinate id in the output directory or the upper layer is one the user cannot read or
// remove. An engine that cannot limit processes (rootless without cgroup v2) is refused a pids limit rather
// than have docker drop it without a word.
import { UserError } from '../common/errors.js'
import type { ContainerLimits } from '../container/limits.js'
import { type EngineInfo, engineInfo, isRootless } from '../net/engine.js'

/** The capabilities a rootless engine's container root must not have: each could give a file to another id. */
const GIVE_AWAY = new Set(['CHOWN', 'SETUID', 'SETGID'])

export interface AgentOnEngine {
  user?: { uid: number; gid: number }
  limits: ContainerLimits
}

const invoker = () => (process.getuid && process.getgid ? { uid: process.getuid(), gid: process.getgid() } : undefined)

export async function agentOnEngine(limits: ContainerLimits): Promise<AgentOnEngine> {
  return agentOn(await engineInfo(), limits, invoker())
}

/** The same, from the engine's /info (pure, for tests). */
export function agentOn(info: EngineInfo | undefined, limits: ContainerLimits, user: AgentOnEngine['user']): AgentOnEngine {
  if (info?.PidsLimit === false && limits.pidsLimit !== undefined) {
    throw new UserError(
      `this Docker engine cannot limit the agent's processes (${isRootless(info) ? 'a rootless engine without cgroup v2' : 'no pids cgroup'}) — run with --pids-limit none to accept that`,
    )
  }
  if (!isRootless(info)) return { user, limits }
  return { user: { uid: 0, gid: 0 }, limits: { ...limits, caps: limits.caps.filter((cap) => !GIVE_AWAY.has(cap)) } }
}
