// realm's entry. A run's network sidecar starts before anything else is loaded (net/early.ts): Docker needs a
// quarter of a second to start it, which then overlaps the loading of the rest. Everything comes through
// dynamic imports, since a static one would be loaded before this module's first line runs, and the other
// commands need not load the early start at all. The one static import is the trace's clock, which marks the
// moment realm's own code begins (common/trace.ts).
import './common/trace.js'

if (process.argv[2] === 'new' || process.argv[2] === 'resume') (await import('./net/early.js')).launchEarly(process.argv)
await import('./cli/entry.js')
