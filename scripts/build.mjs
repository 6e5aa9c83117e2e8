// `npm run build`: realm in dist/ as one file (index.cjs) with its small packages, each large package that realm
// loads only when it needs it (execa, isomorphic-git, prompts) as one file of its own in dist/vendor/, and the
// small boot.js that bin/realm runs, which compiles index.cjs with V8's code cache (lib/boot.ts).
//
// Every run of `realm new` pays for start-up, and on a busy machine the way Node loads ES modules makes the
// number of files count as much as their size: each file is a separate read, compile and link, in separate
// turns of the event loop, each of which waits its turn for a CPU. realm's own code is 0.26 MB; split by
// command into 39 files (with execa), `realm new` loaded 0.45 MB before its container started; as one file,
// with execa left for later, its CPU time before `docker run` went from 0.23 to 0.14 s on a loaded machine.
// (Before that, one bundle had saved 70 ms against hundreds of small modules in node_modules.) As a CommonJS
// script, which V8 can compile from a cache (and with one copy of each of Node's modules, see below), its CPU
// time before `docker run` went from 0.171 to 0.142 s, on a machine loaded fourteen times over.
// Type checking is tsc's job (`tsc --noEmit` runs first).
import { readFileSync, rmSync, writeFileSync } from 'node:fs'

import { build } from 'esbuild'

/** Loaded lazily (a dynamic import() in lib/), each large: kept out of index.cjs, one file each. */
const VENDORED = ['execa', 'isomorphic-git', 'prompts']

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
}
/** Some bundled packages are CommonJS and call require() for Node's own modules. */
const esmRequire = {
  js: "import { createRequire as __realmCreateRequire } from 'node:module'; const require = __realmCreateRequire(import.meta.url);",
}

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await build({
  ...common,
  format: 'esm',
  banner: esmRequire,
  entryPoints: VENDORED.map((name) => ({ in: name, out: `vendor/${name}` })),
  outdir: 'dist',
  splitting: true,
  chunkNames: 'vendor/[name]-[hash]',
})
await build({ ...common, format: 'esm', banner: esmRequire, entryPoints: ['lib/boot.ts'], outdir: 'dist' })

const bundle = 'dist/index.cjs'
await build({
  ...common,
  // A script, which lib/boot.ts compiles with V8's code cache (Node 20 caches no ES module's code).
  format: 'cjs',
  entryPoints: ['lib/index.ts'],
  outfile: bundle,
  define: { 'import.meta.url': '__realmUrl' },
  banner: { js: "const __realmUrl = require('node:url').pathToFileURL(__filename).href;" },
  // One file: code that imports a module realm's other commands share, loads nothing more than index.cjs.
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
// The script's own import() would fail once its code comes from the cache (V8 does not keep what Node needs for
// it): lib/boot.ts passes an import of its own, which every import() of the bundle must be.
let text = readFileSync(bundle, 'utf8').replaceAll('import("./vendor/', '__realmImport("./vendor/')
const left = text.match(/\bimport\s*\(/g)
if (left) throw new Error(`${bundle}: ${left.length} import() left that boot.ts does not provide (scripts/build.mjs)`)
// As CommonJS, each of the bundle's modules that imports one of Node's (node:fs, node:path: over a hundred
// imports) gets a copy of it from esbuild's __toESM, a getter per property: thousands of them before realm's
// checks are done, which made the script slower than the ES module it replaced. One copy per module of Node's is
// enough (nothing writes to them): __toESM is made to keep the copy it made.
// (esbuild names the helper's third parameter as it likes: target, target2…)
const TO_ESM = /var __toESM = \(mod, isNodeMode, (\w+)\) => \(/
const found = text.match(new RegExp(TO_ESM, 'g'))
if (found?.length !== 1) throw new Error(`${bundle}: esbuild's __toESM is not as scripts/build.mjs expects`)
text = text.replace(TO_ESM, (_, target) =>
  [
    'var __realmCopies = new WeakMap();',
    'var __toESM = (mod, isNodeMode) => {',
    '  if (mod == null || (typeof mod !== "object" && typeof mod !== "function")) return __toESMCopy(mod, isNodeMode);',
    '  let copies = __realmCopies.get(mod);',
    '  if (!copies) __realmCopies.set(mod, (copies = []));',
    '  return (copies[isNodeMode ? 1 : 0] ??= __toESMCopy(mod, isNodeMode));',
    '};',
    `var __toESMCopy = (mod, isNodeMode, ${target}) => (`,
  ].join('\n'),
)
writeFileSync(bundle, text)
