// realm's entry. A run's network sidecar starts before anything else is loaded (net/early.ts): Docker needs a
// quarter of a second to start it, which then overlaps the loading of the rest. Everything else comes after,
// through a dynamic import, since a static one would be loaded before this module's first line runs.
import { launchEarly } from './net/early.js'

if (process.argv[2] === 'new' || process.argv[2] === 'resume') launchEarly(process.argv)
await import('./cli/entry.js')
