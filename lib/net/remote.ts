// The network of a run on a remote engine (one that cannot see this machine's files, container/engine-location.ts).
// realm's broker and proxy listen on this machine, where a remote engine's containers cannot reach them through
// a bridge address, so the enforcing modes cannot be kept there yet, and realm refuses them rather than run on a
// network it cannot close. `--network open` runs: the container's network is the engine's own, and since the
// broker is out of its reach, the agent gets no credential from this machine (none ever enters the container).
import { UserError } from '../common/errors.js'
import type { Egress } from './egress.js'
import type { NetworkMode } from './policy.js'

/** The one-line refusal of a mode realm cannot enforce on a remote engine. */
export function refuseOnRemoteEngine(mode: NetworkMode): UserError {
  return new UserError(
    `--network ${mode} cannot be enforced on a remote Docker engine yet (its containers cannot reach realm's proxy on this machine) — run with --network open to accept the engine's open network`,
  )
}

/** What tells the user that the run's credentials stay behind (said by the run, once it starts). */
export const NO_BROKER_ON_REMOTE =
  "realm: the Docker engine is remote, so the agent cannot reach realm's credential broker on this machine: it gets no credential from here (log in inside the run, or see TROUBLESHOOTING.md)"

/** The run's network on a remote engine: `open` alone, with nothing of realm's to reach. */
export function remoteEgress(mode: NetworkMode): Egress {
  if (mode !== 'open') throw refuseOnRemoteEngine(mode)
  return { mode, dockerArgs: [], env: {}, secretEnv: {}, blocked: () => [], close: async () => undefined }
}
