// `npm run build`: realm in dist/ as one file (index.js) with its small packages, and each large package that
// realm loads only when it needs it (execa, isomorphic-git, prompts) as one file of its own in dist/vendor/.
//
// Every run of `realm new` pays for start-up, and on a busy machine the way Node loads ES modules makes the
// number of files count as much as their size: each file is a separate read, compile and link, in separate
// turns of the event loop, each of which waits its turn for a CPU. realm's own code is 0.26 MB; split by
// command into 39 files (with execa), `realm new` loaded 0.45 MB before its container started; as one file,
// with execa left for later, its CPU time before `docker run` went from 0.23 to 0.14 s on a loaded machine.
// (Before that, one bundle had saved 70 ms against hundreds of small modules in node_modules.)
// Type checking is tsc's job (`tsc --noEmit` runs first).
import { rmSync } from 'node:fs'

import { build } from 'esbuild'

/** Loaded lazily (a dynamic import() in lib/), each large: kept out of index.js, one file each. */
const VENDORED = ['execa', 'isomorphic-git', 'prompts']

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Some bundled packages are CommonJS and call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __realmCreateRequire } from 'node:module'; const require = __realmCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
}

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await build({
  ...common,
  entryPoints: VENDORED.map((name) => ({ in: name, out: `vendor/${name}` })),
  outdir: 'dist',
  splitting: true,
  chunkNames: 'vendor/[name]-[hash]',
})
await build({
  ...common,
  entryPoints: ['lib/index.ts'],
  outdir: 'dist',
  // One file: code that imports a module realm's other commands share, loads nothing more than index.js.
  splitting: false,
  plugins: [
    {
      name: 'vendored',
      setup(b) {
        b.onResolve({ filter: new RegExp(`^(${VENDORED.join('|')})$`) }, (args) => ({ path: `./vendor/${args.path}.js`, external: true }))
      },
    },
  ],
})
