// What bin/realm runs first: realm's bundle (dist/index.cjs, made by scripts/build.mjs), compiled with V8's code
// cache. Every run pays for compiling realm's code before any of it runs, and on a loaded machine that is a good
// part of realm's own start: loaded as an ES module, the bundle took 0.068 s of CPU to print --version; as a
// script, 0.046 s; as a script from the code V8 made on an earlier run, 0.033 s. Node 20 keeps no such cache
// itself (module.enableCompileCache came with Node 22), so realm does: in $REALM_HOME/cache, one file for the
// commands that run the agent and one for the others (each compiles other parts of the bundle), written when
// a run ends without one.
//
// Bundled apart from the rest (dist/boot.js, scripts/build.mjs): what this imports holds no state the bundle shares.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

import { cacheName, commandKind, readCache, trustedDir, writeCache } from './common/code-cache.js'
import { realmHome } from './common/paths.js'

/** When a run that compiled the bundle itself keeps its cache: well after `docker run` has started. */
const KEEP_AFTER_MS = 3000

function traceLine(phase: string): void {
  if (process.env.REALM_TRACE) process.stderr.write(`realm-trace ${Math.round(performance.timeOrigin + performance.now())} ${phase}\n`)
}

/** Compiles and runs the bundle beside this file, from the cache when there is a good one, and keeps one if not. */
function runBundle(): void {
  const file = fileURLToPath(new URL('index.cjs', import.meta.url))
  const source = fs.readFileSync(file, 'utf8')
  const home = realmHome()
  const dir = path.join(home, 'cache')
  const name = cacheName(source, commandKind(process.argv))
  const cachedData = trustedDir(home, dir) ? readCache(path.join(dir, name)) : undefined
  // The bundle as CommonJS wraps it, with one more parameter: its import() of the large packages realm loads
  // only when it needs them (dist/vendor/, ES modules). A script's own import() cannot be used: V8 does not keep
  // what Node needs for it in the cache.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __realmImport) {${source}\n})`, {
    filename: file,
    cachedData,
  })
  const used = cachedData !== undefined && !script.cachedDataRejected
  traceLine(`bundle compiled (code cache ${used ? 'used' : cachedData ? 'refused' : 'absent'})`)
  if (!used) {
    // What V8 compiled by then: once realm's start is over (a long run's end may come after V8 dropped the code of
    // its start), or when realm ends first.
    let kept = false
    const keep = () => {
      if (!kept) writeCache(home, dir, name, script.createCachedData())
      kept = true
    }
    setTimeout(keep, KEEP_AFTER_MS).unref()
    process.once('exit', keep)
  }
  const module = { exports: {} }
  const load = (specifier: string) => import(new URL(specifier, import.meta.url).href)
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file), load)
}

runBundle()
