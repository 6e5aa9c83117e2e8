// $REALM_HOME is the user's alone: made 0700, an old open install tightened with one line, one that others
// could write refused; and the sweep that leaves nothing of a run that could lend a privilege.
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { test } from 'node:test'

import { execa } from 'execa'

import { privateDir, securePrivateHome } from '../../lib/common/private.ts'
import { sweepTree } from '../../lib/common/sweep.ts'
import { useRealmHome } from '../helpers/fixture.js'

const { fresh } = await useRealmHome()

const mode = async (file: string) => (await fs.lstat(file)).mode & 0o7777

test('privateDir makes missing directories 0700 and tightens an existing one', async () => {
  const dir = path.join(fresh('private'), 'a', 'b')
  await privateDir(dir)
  assert.equal(await mode(dir), 0o700)
  assert.equal(await mode(path.dirname(dir)), 0o700)
  await fs.chmod(dir, 0o2777)
  await privateDir(dir)
  assert.equal(await mode(dir), 0o700)
})

test('a missing REALM_HOME is fine; a private one is left alone, with no line', async () => {
  const home = fresh('home')
  assert.equal(await securePrivateHome({ REALM_HOME: home }), undefined)
  await fs.mkdir(home, { mode: 0o700 })
  assert.equal(await securePrivateHome({ REALM_HOME: home }), undefined)
})

test('an install others can read (as realm made them before) is made private, all of it, with one line', async () => {
  const home = fresh('home')
  const session = path.join(home, 'sessions', 's')
  await fs.mkdir(session, { recursive: true, mode: 0o755 })
  await fs.chmod(home, 0o755)
  await fs.writeFile(path.join(session, 'base.patch'), 'x', { mode: 0o644 })
  await fs.writeFile(path.join(session, 'tool'), 'x', { mode: 0o4755 })
  const line = await securePrivateHome({ REALM_HOME: home })
  assert.match(
    line ?? '',
    new RegExp(`^realm: ${home} was open to other users \\(mode 0755\\); made it and everything in it private \\(0700\\)$`),
  )
  for (const dir of [home, path.join(home, 'sessions'), session]) assert.equal(await mode(dir), 0o700, dir)
  assert.equal(await mode(path.join(session, 'base.patch')), 0o600)
  assert.equal(await mode(path.join(session, 'tool')), 0o700)
  assert.equal(await securePrivateHome({ REALM_HOME: home }), undefined, 'once')
})

test('an install others could write is refused with one line that says what to do; so is one of another uid', async () => {
  const home = fresh('home')
  await fs.mkdir(home)
  await fs.chmod(home, 0o777)
  await assert.rejects(
    securePrivateHome({ REALM_HOME: home }),
    new RegExp(
      `^UserError: REALM_HOME ${home} is writable by other users \\(mode 0777\\), .* check its contents, then run 'chmod 700 ${home}'$`,
    ),
  )
  assert.equal(await mode(home), 0o777, 'left as it was')
  if (process.getuid?.() === 0) {
    await fs.chmod(home, 0o700)
    await fs.chown(home, 12345, 12345)
    await assert.rejects(securePrivateHome({ REALM_HOME: home }), /belongs to uid 12345, not to you — set REALM_HOME/)
  }
})

test('the sweep clears setuid and setgid, removes devices, FIFOs, sockets and whiteouts, and follows no link', async () => {
  const root = fresh('sweep')
  const outside = fresh('outside')
  await fs.mkdir(path.join(root, 'd'), { recursive: true })
  await fs.writeFile(outside, 'x', { mode: 0o4755 })
  await fs.writeFile(path.join(root, 'd', 'suid'), 'x', { mode: 0o4755 })
  await fs.writeFile(path.join(root, 'sgid'), 'x', { mode: 0o2750 })
  await fs.chmod(path.join(root, 'd', 'suid'), 0o4755)
  await fs.chmod(path.join(root, 'sgid'), 0o2750)
  await fs.symlink(outside, path.join(root, 'link'))
  await execa('mkfifo', [path.join(root, 'd', 'fifo')])
  const server = net.createServer().listen(path.join(root, 'sock'))
  await new Promise((resolve) => server.once('listening', resolve))
  if (process.getuid?.() === 0) await execa('mknod', [path.join(root, 'whiteout'), 'c', '0', '0'])
  const result = await sweepTree(root)
  server.close()
  assert.ok(result.complete)
  assert.deepEqual((await fs.readdir(root, { recursive: true })).sort(), ['d', 'd/suid', 'link', 'sgid'])
  assert.equal(await mode(path.join(root, 'd', 'suid')), 0o700)
  assert.equal(await mode(path.join(root, 'sgid')), 0o700)
  assert.equal(await mode(outside), 0o4755, 'what a link points to is not touched')
})

test('the sweep is bounded: past its limit it says it did not finish', async () => {
  const root = fresh('bounded')
  await fs.mkdir(root)
  for (let i = 0; i < 20; i++) await fs.writeFile(path.join(root, `f${i}`), '')
  const result = await sweepTree(root, 10)
  assert.equal(result.complete, false)
  assert.equal(result.seen, 10)
})
