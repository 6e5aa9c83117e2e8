// bin/realm compiles its bundle with V8's code cache, kept in $REALM_HOME/cache (lib/boot.ts). The real
// bin/realm: the first run keeps a cache, the next uses it; a cache someone planted or damaged, or one in a
// place others could write, is never run, and realm works the same without it.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { explain, realm, type RealmResult, tempDir } from '../helpers/realm.js'

describe('the code cache of the bundle', () => {
  let tmp: { path: string; cleanup: () => Promise<void> }
  let home: string
  before(async () => {
    tmp = await tempDir()
    home = path.join(tmp.path, 'home')
    await fs.mkdir(home, { mode: 0o700 })
  })
  after(async () => tmp.cleanup())

  const list = () => realm(['list'], { cwd: tmp.path, home, env: { REALM_TRACE: '1' } })
  /** What the trace says of the cache, after checking that the command itself worked. */
  const cacheState = (result: RealmResult) => {
    assert.equal(result.code, 0, explain(result))
    return /bundle compiled \(code cache (\w+)\)/.exec(result.stderr)?.[1]
  }
  const caches = async () => (await fs.readdir(path.join(home, 'cache'))).filter((name) => name.endsWith('.v8'))

  test('kept privately by the first run, used by the next', async () => {
    assert.equal(cacheState(await list()), 'absent')
    const [name, ...more] = await caches()
    assert.deepEqual(more, [])
    assert.match(name, /^other-[0-9a-f]{32}\.v8$/)
    assert.equal((await fs.stat(path.join(home, 'cache'))).mode & 0o777, 0o700)
    assert.equal((await fs.stat(path.join(home, 'cache', name))).mode & 0o777, 0o600)
    assert.equal(cacheState(await list()), 'used')
  })

  test('a damaged cache is refused by V8, and replaced', async () => {
    const [name] = await caches()
    const file = path.join(home, 'cache', name)
    const size = (await fs.stat(file)).size
    await fs.writeFile(file, Buffer.alloc(size, 0x41), { mode: 0o600 })
    assert.equal(cacheState(await list()), 'refused')
    assert.equal(cacheState(await list()), 'used')
  })

  test('not read from a directory others may write, nor through a link', async () => {
    const dir = path.join(home, 'cache')
    await fs.chmod(dir, 0o777)
    assert.equal(cacheState(await list()), 'absent')
    await fs.chmod(dir, 0o700)
    const [name] = await caches()
    const planted = path.join(tmp.path, 'planted.v8')
    await fs.rename(path.join(dir, name), planted)
    await fs.symlink(planted, path.join(dir, name))
    assert.equal(cacheState(await list()), 'absent')
  })
})
