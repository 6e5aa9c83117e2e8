// The reader of files the container wrote, tried the way a hostile agent would: links to host files, FIFOs,
// sockets, directories, sparse giants and files that grow.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { copyUntrusted, readUntrusted, readUntrustedText, UntrustedFileRefused } from '../../lib/common/untrusted.ts'

let dir: string
let secret: string
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'realm-untrusted-'))
  secret = path.join(dir, 'secret')
  await fs.writeFile(secret, 'host secret')
})
after(() => fs.rm(dir, { recursive: true, force: true }))

const LIMITS = { maxBytes: 1024, timeoutMs: 2000 }

async function refused(name: string, why: RegExp): Promise<void> {
  await assert.rejects(readUntrusted(dir, name, LIMITS), (error: unknown) => {
    assert.ok(error instanceof UntrustedFileRefused, String(error))
    assert.match(error.message, why)
    assert.ok(error.message.includes(path.join(dir, name)), 'the message names the file')
    return true
  })
}

test('a regular file is read; a missing one is undefined', async () => {
  await fs.writeFile(path.join(dir, 'exit_code'), '3')
  assert.equal(await readUntrustedText(dir, 'exit_code', LIMITS), '3')
  assert.equal(await readUntrusted(dir, 'nothing', LIMITS), undefined)
})

test('a symbolic link is refused, not followed, whether it points at a file or nowhere', async () => {
  await fs.symlink(secret, path.join(dir, 'link'))
  await fs.symlink('/nonexistent', path.join(dir, 'dangling'))
  await refused('link', /symbolic link/)
  await refused('dangling', /symbolic link/)
})

test('a FIFO is refused at once, without waiting for a writer', async () => {
  execFileSync('mkfifo', [path.join(dir, 'fifo')])
  const started = Date.now()
  await refused('fifo', /FIFO/)
  assert.ok(Date.now() - started < 1000)
})

test('a directory, a socket and a device are refused', async () => {
  await fs.mkdir(path.join(dir, 'adir'))
  await refused('adir', /directory/)
  const server = net.createServer().listen(path.join(dir, 'sock'))
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    await refused('sock', /socket/)
  } finally {
    server.close()
  }
  await fs.symlink('/dev/zero', path.join(dir, 'zero'))
  await refused('zero', /symbolic link/)
})

test('an 8 GB sparse file is refused by its size, without being read', async () => {
  const file = path.join(dir, 'huge')
  const handle = await fs.open(file, 'w')
  await handle.truncate(8 * 1024 ** 3)
  await handle.close()
  const started = Date.now()
  await refused('huge', /more than the 1024 allowed/)
  assert.ok(Date.now() - started < 1000)
})

test('a copy holds only the bytes of the regular file, and no file is left when refused', async () => {
  await fs.writeFile(path.join(dir, 'patch'), 'diff --git a/x b/x\n')
  const dest = path.join(dir, 'copy')
  assert.equal(await copyUntrusted(dir, 'patch', dest, LIMITS), true)
  assert.equal(await fs.readFile(dest, 'utf8'), 'diff --git a/x b/x\n')
  await fs.symlink(secret, path.join(dir, 'patch-link'))
  const dest2 = path.join(dir, 'copy2')
  await assert.rejects(copyUntrusted(dir, 'patch-link', dest2, LIMITS), UntrustedFileRefused)
  await assert.rejects(fs.access(dest2))
})
