// realm's entry. A run's network sidecar starts before anything else runs (net/early.ts): Docker needs a
// quarter of a second to start it, which then overlaps the rest of realm's start. The rest comes through dynamic
// imports, so that the early start comes first and the other commands need not run it: in the bundle (one file,
// scripts/build.mjs) each is a module that runs when it is first asked for. The one static import is the
// trace's clock (common/trace.ts). No top-level await: the bundle is a CommonJS script (see boot.ts).
import './common/trace.js'

const runsAgent = process.argv[2] === 'new' || process.argv[2] === 'resume'
void (runsAgent ? import('./net/early.js').then((early) => early.launchEarly(process.argv)) : Promise.resolve()).then(
  () => import('./cli/entry.js'),
)
