// What `new` and `resume` do about the network before a run: read --network / REALM_NETWORK and the allowlist,
// refuse docker flags that would undo the policy, and start the broker and proxy at once (and check the
// sidecar's image), so that this overlaps the command's other checks. The run awaits the result (run/run.ts);
// the sidecar itself joins the agent's container once that runs.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { claudeConfigPaths, keptLoginFile } from '../container/claude-config.js'
import { checkCaps, checkDockerArgs } from './docker-args.js'
import { requestedMode, takeEarly } from './early.js'
import { type Egress, openEgress } from './egress.js'
import { type AllowEntry, allowList, type NetworkMode, parseNetworkMode } from './policy.js'

export interface NetworkChoice {
  /** --network */
  network?: string
  /** --allow, once or repeated */
  allow?: string | string[]
}

export interface StartedNetwork {
  mode: NetworkMode
  egress: Promise<Egress>
  /** Closes what was started, for a command that fails before its run. */
  abandon(): Promise<void>
}

export function startNetwork(
  choice: NetworkChoice,
  dockerArgs: { args: string[]; source: string },
  notify: (line: string) => void,
  caps: { caps: string[]; source: string } = { caps: [], source: '--caps' },
  env: NodeJS.ProcessEnv = process.env,
): StartedNetwork {
  const mode = parseNetworkMode(choice.network ?? env.REALM_NETWORK, choice.network !== undefined ? '--network' : 'REALM_NETWORK')
  checkDockerArgs(dockerArgs.args, mode, dockerArgs.source)
  checkCaps(caps.caps, mode, caps.source)
  const flags = choice.allow === undefined ? [] : Array.isArray(choice.allow) ? choice.allow : [choice.allow]
  const early = prestarted?.mode === mode ? prestarted : undefined
  if (prestarted && !early) void prestarted.egress.then((e) => e.close()).catch(() => undefined)
  prestarted = undefined
  // The proxy reads this list on each request, so an early start can be given it now.
  const allow = early?.allow ?? []
  allow.push(...allowList(mode, { flags: flags.map(String), env }))
  const egress = early?.egress ?? openEgress({ mode, allow, env, notify, early: takeEarly(mode) })
  egress.catch(() => undefined) // awaited by the run; a failure before then is reported there
  return { mode, egress, abandon: () => egress.then((e) => e.close()).catch(() => undefined) }
}

let prestarted: { mode: NetworkMode; allow: AllowEntry[]; egress: Promise<Egress> } | undefined

/**
 * Starts the network of a `new` or `resume` before the CLI is even loaded (the engine's facts, the broker, the
 * proxy, the sidecar's image, and the sidecar net/early.ts started), so that it overlaps everything realm does
 * before its run. Reads only what it must (the command, --network, REALM_NETWORK); anything it gets wrong is
 * closed again by startNetwork, which decides for real. Nothing is reported from here: an error waits for
 * startNetwork's caller.
 */
export function prestartNetwork(argv: string[], notify: (line: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  const mode = requestedMode(argv, env)
  if (!mode) return
  const allow: AllowEntry[] = []
  const egress = openEgress({ mode, allow, env, notify, early: takeEarly(mode) })
  egress.catch(() => undefined)
  prestarted = { mode, allow, egress }
}

/**
 * A Claude login kept in a file (not an environment variable) is read by Claude Code inside the container, so
 * the agent can see it; realm cannot broker it reliably (Claude Code refreshes it itself). One line per run.
 */
export function loginFileNotice(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string | undefined {
  const files = [path.join(claudeConfigPaths(home, env).dir, '.credentials.json'), keptLoginFile(env)]
  if (!files.some((file) => fs.existsSync(file))) return undefined
  return (
    'realm: your Claude login (.credentials.json) is visible to the agent — to keep it on the host, run `claude setup-token` ' +
    'and export CLAUDE_CODE_OAUTH_TOKEN (the broker then adds it outside the container)'
  )
}
