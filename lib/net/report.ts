// What the network policy stopped, as the one line after a run: each destination with its reason, most frequent
// first, and the advice that follows the reason. The line means "the agent tried something the policy stopped":
// Claude Code's own background requests (telemetry, feature flags, update checks), which no user wants to
// allow, are left out of it. REALM_TRACE shows every attempt as it happens, those included.

/**
 * Why a connection was stopped:
 * - `not-allowed`: through the proxy, to a destination the allowlist does not name;
 * - `unresolved`: through the proxy, to an allowed name that does not resolve on this machine;
 * - `restricted`: through the proxy, to (or to a name that resolves to) the host's own, a loopback or a private
 *   address, which only an exact --allow of that address opens;
 * - `dns`: a DNS query of the agent's own: closed by design, realm's proxy resolves names;
 * - `bypass`: any other connection that went around the proxy: only the proxy and the broker lead out.
 */
export type BlockReason = 'not-allowed' | 'unresolved' | 'restricted' | 'dns' | 'bypass'

/** A connection the policy stopped: where the agent tried to go, and why. */
export interface BlockedAttempt {
  /** `host` (ports 80 and 443 left out) or `host:port`; for a DNS query, the name looked up (or `resolver:53`) */
  destination: string
  reason: BlockReason
  /** the --allow value that would let it through: only for `not-allowed` and `restricted`, where one would */
  allow?: string
}

const LABEL: Record<BlockReason, string> = {
  'not-allowed': 'not allowed',
  unresolved: 'does not resolve',
  restricted: 'host or private address',
  dns: 'DNS',
  bypass: 'around the proxy',
}

/** `destination (reason)`, as the line and REALM_TRACE show an attempt. */
export function shown(attempt: BlockedAttempt): string {
  return `${attempt.destination} (${LABEL[attempt.reason]}${isBackground(attempt) ? ", Claude Code's own" : ''})`
}

/** What to do about an attempt: only an --allow that would help, and never one that opens DNS. */
export function advice(attempt: BlockedAttempt): string {
  switch (attempt.reason) {
    case 'not-allowed':
      return `allow with --allow ${attempt.allow}`
    case 'restricted':
      return `to let the agent reach that address on purpose: --allow ${attempt.allow}`
    case 'unresolved':
      return `${hostOf(attempt.destination)} is allowed, but its name does not resolve on this machine: check the name, or this machine's DNS`
    case 'dns':
      return "DNS is closed by design (realm's proxy resolves names): the tool must use HTTPS_PROXY"
    case 'bypass':
      return "only realm's proxy leads out: the tool must use HTTPS_PROXY instead of connecting directly"
  }
}

/** The host of `host`, `host:port` or `[v6]:port`. */
function hostOf(destination: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(destination)
  if (bracketed) return bracketed[1]
  return destination.replace(/:\d+$/, '')
}

/**
 * Names Claude Code contacts on its own, whatever the agent does: event logging, feature flags and account
 * checks (api.anthropic.com: the model API itself goes through realm's broker), error reports and logs
 * (Sentry, Datadog, Statsig), and release and model-catalog checks (downloads.claude.ai). Closed under
 * `allowlist` and `model`, and expected to be.
 *
 * Only names no agent has a reason to reach belong here: a name on this list hides the agent's own attempts
 * too, since the proxy sees a name and a reason, never which process in the container asked. github.com is
 * therefore not listed, though Claude Code clones its official plugin marketplace from there at start-up: the
 * agent may try github.com itself, and a clone by the agent and one by Claude Code look the same (same name,
 * same DNS queries from the same container). That start-up attempt is stopped at its source instead, in the
 * run's copy of .claude.json (lib/container/claude-config.ts).
 */
const BACKGROUND = [
  /^api\.anthropic\.com$/,
  /^statsig\.anthropic\.com$/,
  /(^|\.)sentry\.io$/,
  /(^|[.-])datadoghq\.(com|eu)$/,
  /^downloads\.claude\.ai$/,
]

/** Whether an attempt is one of Claude Code's own background requests, not the agent's doing. */
export function isBackground(attempt: BlockedAttempt): boolean {
  if (attempt.reason === 'bypass') return false
  const host = hostOf(attempt.destination).toLowerCase()
  return BACKGROUND.some((pattern) => pattern.test(host))
}

/** The proxy's answer to a refused request, for whoever reads the tool's error. */
export function refusalText(attempt: BlockedAttempt): string {
  return `realm: ${attempt.destination} is blocked (${LABEL[attempt.reason]}) — ${advice(attempt)}\n`
}

const SHOWN = 5

/**
 * The line, or undefined when the agent tried nothing the policy stopped. Its advice is the first listed
 * destination's that an --allow would open, else the first one's.
 */
export function blockedSummary(attempts: readonly BlockedAttempt[]): string | undefined {
  const agents = attempts.filter((attempt) => !isBackground(attempt))
  if (agents.length === 0) return undefined
  const counts = new Map<string, { attempt: BlockedAttempt; count: number }>()
  for (const attempt of agents) {
    const key = `${attempt.reason} ${attempt.destination}`
    const seen = counts.get(key)
    if (seen) seen.count++
    else counts.set(key, { attempt, count: 1 })
  }
  const ranked = [...counts.values()].sort((a, b) => b.count - a.count)
  const listed = ranked
    .slice(0, SHOWN)
    .map(({ attempt, count }) => `${attempt.destination}${count > 1 ? ` ×${count}` : ''} (${LABEL[attempt.reason]})`)
  if (ranked.length > SHOWN) listed.push(`${ranked.length - SHOWN} more`)
  const first = (ranked.slice(0, SHOWN).find(({ attempt }) => attempt.allow) ?? ranked[0]).attempt
  const noun = agents.length === 1 ? 'connection' : 'connections'
  return `realm: blocked ${agents.length} ${noun}: ${listed.join(', ')} — ${advice(first)}`
}
