// `npm run build`: one bundle of realm and its packages in dist/, with the commands that load lazily
// (diff, apply, push, review…) as separate chunks. A bundle starts about 70 ms sooner than the same code
// as hundreds of small modules (execa and isomorphic-git alone cost that much to resolve and load), and
// every run of `realm new` pays for start-up. Type checking is tsc's job (`tsc --noEmit` runs first).
import { rmSync } from 'node:fs'

import { build } from 'esbuild'

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await build({
  entryPoints: ['lib/index.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Chunks stay next to index.js: code in them finds package.json and docker/ relative to its own file.
  chunkNames: '[name]-[hash]',
  // Some bundled packages are CommonJS and call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __realmCreateRequire } from 'node:module'; const require = __realmCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
