// The network of a run on a remote engine (one that cannot see this machine's files, container/engine-location.ts)
// outside the enforcing modes, which reach realm's proxy and broker through the relay their sidecar carries (see
// net/engine.ts). `--network open` has no sidecar, so nothing of realm's is in the container's reach: the network
// is the engine's own, and the agent gets no credential from this machine (none ever enters the container).
// `--network host` would be the engine's host, not this machine: realm refuses it.
import { UserError } from '../common/errors.js'
import type { NetworkMode } from './policy.js'
import type { BlockedAttempt } from './report.js'

/** The one-line refusal of a mode that cannot work on a remote engine. */
export function refuseOnRemoteEngine(mode: NetworkMode): UserError {
  return new UserError(
    `--network ${mode} cannot work on a remote Docker engine (its host is not this machine, where realm's broker listens) — use --network allowlist, model or open`,
  )
}

/** What tells the user that the run's credentials stay behind (said by the run, once it starts). */
export const NO_BROKER_ON_REMOTE =
  "realm: the Docker engine is remote, so the agent cannot reach realm's credential broker on this machine: it gets no credential from here (log in inside the run, or see TROUBLESHOOTING.md)"

/** What egress.ts's Egress holds of an open network on a remote engine: nothing of realm's to reach. */
interface OpenRemote {
  mode: NetworkMode
  dockerArgs: string[]
  env: Record<string, string>
  secretEnv: Record<string, string>
  blocked(): BlockedAttempt[]
  close(): Promise<void>
}

/** The run's network on a remote engine in the modes without a sidecar (and so without the relay). */
export function remoteEgress(mode: NetworkMode): OpenRemote {
  if (mode !== 'open') throw refuseOnRemoteEngine(mode)
  return { mode, dockerArgs: [], env: {}, secretEnv: {}, blocked: () => [], close: async () => undefined }
}
