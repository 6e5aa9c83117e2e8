// The one line after a run that says what the network policy refused, most frequent first, with the --allow
// that would let the first of them through. REALM_TRACE shows each attempt as it happens (sidecar.ts).
import type { BlockedAttempt } from './proxy.js'

const SHOWN = 5

export function blockedSummary(attempts: readonly BlockedAttempt[]): string | undefined {
  if (attempts.length === 0) return undefined
  const counts = new Map<string, { count: number; allow: string }>()
  for (const attempt of attempts) {
    const seen = counts.get(attempt.destination)
    if (seen) seen.count++
    else counts.set(attempt.destination, { count: 1, allow: attempt.allow })
  }
  const ranked = [...counts].sort((a, b) => b[1].count - a[1].count)
  const listed = ranked.slice(0, SHOWN).map(([destination, { count }]) => (count > 1 ? `${destination} ×${count}` : destination))
  if (ranked.length > SHOWN) listed.push(`${ranked.length - SHOWN} more`)
  const noun = attempts.length === 1 ? 'connection' : 'connections'
  return `realm: blocked ${attempts.length} ${noun}: ${listed.join(', ')} — allow with --allow ${ranked[0][1].allow}`
}
