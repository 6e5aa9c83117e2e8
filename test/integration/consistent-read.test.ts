// Only lock holders write; readers read a consistent, committed state without a lock. A writer commits patch
// pairs as fast as it can while readers (snapshotPatches, as diff reads; listSessions, as list reads) read in a
// loop beside it, and a writer that dies halfway leaves a state readers still see whole.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'

import { execa } from 'execa'

import { snapshotPatches } from '../../lib/session/snapshot.ts'
import { createSession, type Session, updateSession } from '../../lib/session/store.ts'
import { readConsistent } from '../../lib/session/transaction.ts'
import { useRealmHome } from '../helpers/fixture.js'

const { fresh } = await useRealmHome()

const META = { version: 1, baseCommit: 'a'.repeat(40), subdir: '', image: 'x' } as const

/** Commit `n` writes base.patch and changes.patch whose sizes are k and 1000 + k (k from n): a torn pair's sizes add up to an odd number. */
function pair(n: number): { base: string; changes: string } {
  const k = (n % 97) + 1
  return { base: `${n}\n`.padEnd(k + 8, 'b'), changes: `${n}\n`.padEnd(1000 + k + 8, 'c') }
}

async function newSession(name: string): Promise<Session> {
  return createSession(name, fresh('project'), { ...META })
}

/**
 * A reader in another process, as `realm diff` and `realm list` are: for `ms` milliseconds it reads the session
 * both ways in a loop and prints how many reads it made and how many were torn.
 */
function readerProcess(name: string, scratch: string, ms: number) {
  const lib = path.resolve(import.meta.dirname, '..', '..', 'lib', 'session')
  const code = `
    import fs from 'node:fs'
    const { listSessions } = await import(${JSON.stringify(path.join(lib, 'listing.ts'))})
    const { loadSession } = await import(${JSON.stringify(path.join(lib, 'store.ts'))})
    const { snapshotPatches } = await import(${JSON.stringify(path.join(lib, 'snapshot.ts'))})
    const session = await loadSession(${JSON.stringify(name)})
    let reads = 0, torn = 0
    for (const end = Date.now() + ${ms}; Date.now() < end; ) {
      const [listed] = listSessions([${JSON.stringify(name)}])
      if (listed.patchBytes > 0) { reads++; if (listed.patchBytes % 2 !== 0) torn++ }
      const taken = await snapshotPatches(session, ${JSON.stringify(scratch)})
      if (taken['base.patch'] && taken['changes.patch']) {
        reads++
        const base = fs.readFileSync(taken['base.patch'], 'utf8').split('\\n')[0]
        const changes = fs.readFileSync(taken['changes.patch'], 'utf8').split('\\n')[0]
        if (base !== changes) torn++
      }
      for (const file of Object.values(taken)) fs.rmSync(file)
    }
    console.log(JSON.stringify({ reads, torn }))
  `
  return execa(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', code], { env: { ...process.env } })
}

test('readers in other processes never see half of a commit (as diff and list read), against a writer committing in a loop', async () => {
  const session = await newSession('race')
  await updateSession(session, { 'base.patch': { data: pair(0).base }, 'changes.patch': { data: pair(0).changes } })
  const scratch = fresh('scratch')
  await fs.mkdir(scratch)
  const readers = [readerProcess('race', scratch, 4_000), readerProcess('race', scratch, 4_000)]
  let commits = 0
  const deadline = Date.now() + 4_500
  for (let n = 1; Date.now() < deadline; n++) {
    const { base, changes } = pair(n)
    await updateSession(session, { 'base.patch': { data: base }, 'changes.patch': { data: changes } })
    commits = n
  }
  const results = (await Promise.all(readers)).map((r) => JSON.parse(r.stdout) as { reads: number; torn: number })
  assert.ok(commits > 50, `enough commits: ${commits}`)
  for (const { reads, torn } of results) {
    assert.ok(reads > 200, `enough reads: ${reads}`)
    assert.equal(torn, 0, `${torn} of ${reads} reads saw half of a commit`)
  }
})

test('a writer that died after its commit was READY: readers see the new state, and reading writes nothing', async () => {
  const session = await newSession('died')
  await updateSession(session, { 'base.patch': { data: 'old base\n' }, 'changes.patch': { data: 'old changes\n' } })
  // What a commit looks like when its process died halfway through renaming its files into place.
  const txn = path.join(session.dir, '.txn')
  await fs.mkdir(txn)
  await fs.writeFile(path.join(txn, 'changes.patch'), 'new changes\n')
  await fs.writeFile(path.join(session.dir, 'base.patch'), 'new base\n') // already renamed
  await fs.writeFile(path.join(txn, 'READY'), JSON.stringify([]))
  const before = (await fs.readdir(session.dir, { recursive: true })).sort()

  const seen = await readConsistent(session.dir, ['base.patch', 'changes.patch'], async (paths) => ({
    base: await fs.readFile(String(paths['base.patch']), 'utf8'),
    changes: await fs.readFile(String(paths['changes.patch']), 'utf8'),
  }))
  assert.deepEqual(seen, { base: 'new base\n', changes: 'new changes\n' })
  assert.deepEqual((await fs.readdir(session.dir, { recursive: true })).sort(), before, 'the reader finished nothing')
})

test('a commit still being staged (no READY yet) is not part of what readers see', async () => {
  const session = await newSession('staging')
  await updateSession(session, { 'changes.patch': { data: 'committed\n' } })
  await fs.mkdir(path.join(session.dir, '.txn'))
  await fs.writeFile(path.join(session.dir, '.txn', 'changes.patch'), 'half staged\n')
  const scratch = fresh('scratch')
  await fs.mkdir(scratch)
  const taken = await snapshotPatches(session, scratch)
  assert.equal(await fs.readFile(String(taken['changes.patch']), 'utf8'), 'committed\n')
})
