// The tar streams of a streamed run (container/tar.ts, run/remote-outputs.ts): what realm writes reads back the
// same, by realm's reader and by tar itself, and what comes back from the container is kept to its bounds.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { type TarEntryHeader, TarReader, TarRefused, tarEnd, tarEntry, type TarWriteEntry } from '../../lib/container/tar.ts'
import { RunOutputRefused } from '../../lib/run/outputs.ts'
import { outputName, outputsReader } from '../../lib/run/remote-outputs.ts'

const LIMITS = { maxTotalBytes: 1 << 20, maxEntries: 100, maxHeaderBytes: 4096 }

function archive(entries: TarWriteEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap((entry) => tarEntry(entry)), tarEnd()])
}

/** Every entry realm's reader finds, with its content, feeding the stream in chunks of `chunk` bytes. */
function readAll(data: Buffer, chunk = 7, limits = LIMITS): Array<TarEntryHeader & { content: string }> {
  const found: Array<TarEntryHeader & { content: string }> = []
  const reader = new TarReader(limits, (header) => {
    const pieces: Buffer[] = []
    return {
      write: (piece) => pieces.push(Buffer.from(piece)),
      end: () => found.push({ ...header, content: Buffer.concat(pieces).toString('utf8') }),
    }
  })
  for (let at = 0; at < data.length; at += chunk) reader.write(data.subarray(at, at + chunk))
  reader.end()
  return found
}

const long = `${'deep/'.repeat(40)}näme with spaces.txt`

test('what realm writes, realm reads back, whatever the chunking: files, directories, links, long and non-ASCII names', () => {
  const data = archive([
    { path: 'realm', type: 'directory', mode: 0o755 },
    { path: 'realm/a.txt', type: 'file', mode: 0o644, content: Buffer.from('hello\n') },
    { path: long, type: 'file', mode: 0o600, content: Buffer.alloc(1000, 'x') },
    { path: 'realm/link', type: 'symlink', mode: 0o777, linkname: `../${'t'.repeat(150)}` },
  ])
  for (const chunk of [1, 7, 512, data.length]) {
    const found = readAll(data, chunk)
    assert.deepEqual(
      found.map((e) => [e.path, e.type, e.size, e.mode, e.linkname]),
      [
        ['realm/', 'directory', 0, 0o755, ''],
        ['realm/a.txt', 'file', 6, 0o644, ''],
        [long, 'file', 1000, 0o600, ''],
        ['realm/link', 'symlink', 0, 0o777, `../${'t'.repeat(150)}`],
      ],
    )
    assert.equal(found[1].content, 'hello\n')
    assert.equal(found[2].content, 'x'.repeat(1000))
  }
})

test('what realm writes, tar extracts as written (uid, gid, modes, long names, links)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-tar-'))
  try {
    const file = path.join(dir, 'in.tar')
    fs.writeFileSync(
      file,
      archive([
        { path: 'top', type: 'directory', mode: 0o700, uid: 1234, gid: 5678 },
        { path: `top/${long.replaceAll('/', '_')}`, type: 'file', mode: 0o640, content: Buffer.from('body') },
        { path: 'top/l', type: 'symlink', mode: 0o777, linkname: 'target' },
      ]),
    )
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' })
    assert.match(listing, /^drwx------ 1234\/5678 .* top\/$/m)
    assert.match(listing, /-rw-r----- 0\/0 +4 .*näme with spaces\.txt$/m)
    assert.match(listing, /lrwxrwxrwx .* top\/l -> target$/m)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test("tar's own archives are read: GNU long names, links, FIFOs, an end with padding", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-tar-'))
  try {
    const src = path.join(dir, 'out')
    fs.mkdirSync(src)
    fs.writeFileSync(path.join(src, 'changes.patch'), 'patch\n')
    fs.writeFileSync(path.join(src, `${'n'.repeat(120)}`), 'long\n')
    fs.symlinkSync('/etc/shadow', path.join(src, 'exit_code'))
    execFileSync('mkfifo', [path.join(src, 'fifo')])
    for (const format of ['gnu', 'pax', 'ustar']) {
      if (format === 'ustar') fs.rmSync(path.join(src, `${'n'.repeat(120)}`))
      const data = execFileSync('tar', ['-C', dir, `--format=${format}`, '-cf', '-', 'out'])
      const found = readAll(data, 100, { ...LIMITS, maxEntries: 1000 })
      const byName = new Map(found.map((e) => [e.path.replace(/\/$/, ''), e]))
      assert.equal(byName.get('out/changes.patch')?.content, 'patch\n', format)
      assert.equal(byName.get('out/exit_code')?.type, 'symlink', format)
      assert.equal(byName.get('out/exit_code')?.linkname, '/etc/shadow', format)
      assert.equal(byName.get('out/fifo')?.type, 'fifo', format)
      if (format !== 'ustar') assert.equal(byName.get(`out/${'n'.repeat(120)}`)?.content, 'long\n', format)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('the reader keeps to its bounds: total bytes, entries, extended headers, broken headers, a cut stream', () => {
  const many = archive(
    Array.from({ length: 5 }, (_, i) => ({ path: `f${i}`, type: 'file' as const, mode: 0o644, content: Buffer.from('x') })),
  )
  assert.throws(
    () => readAll(many, 512, { ...LIMITS, maxEntries: 4 }),
    (e: unknown) => e instanceof TarRefused && /more than 4 entries/.test(e.why),
  )
  assert.throws(
    () => readAll(many, 512, { ...LIMITS, maxTotalBytes: 2048 }),
    (e: unknown) => e instanceof TarRefused && /more than 2048 bytes/.test(e.why),
  )
  const longName = archive([{ path: 'x'.repeat(5000), type: 'file', mode: 0o644 }])
  assert.throws(
    () => readAll(longName, 512),
    (e: unknown) => e instanceof TarRefused && /extended header/.test(e.why),
  )
  const broken = Buffer.from(many)
  broken[10] ^= 0xff
  assert.throws(
    () => readAll(broken),
    (e: unknown) => e instanceof TarRefused && /checksum/.test(e.why),
  )
  assert.throws(
    () => readAll(many.subarray(0, 700)),
    (e: unknown) => e instanceof TarRefused && /ends inside/.test(e.why),
  )
  assert.throws(() => readAll(Buffer.from('not a tar stream at all'.repeat(40))), TarRefused)
})

test('only the outputs realm reads are kept, and only one level below out/', () => {
  assert.equal(outputName('out/changes.patch'), 'changes.patch')
  assert.equal(outputName('out/ready'), 'ready')
  assert.equal(outputName('out/'), undefined)
  assert.equal(outputName('out/junk'), undefined)
  assert.equal(outputName('out/sub/changes.patch'), undefined)
  assert.equal(outputName('other/changes.patch'), undefined)
  assert.equal(outputName('out/global-excludes'), undefined)
})

/** Feeds `entries` (with an `out/` directory first) to the reader of outputs into a fresh directory. */
function fetchInto(entries: TarWriteEntry[]): { dir: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-out-'))
  const reader = outputsReader(dir)
  reader.write(archive([{ path: 'out', type: 'directory', mode: 0o700 }, ...entries]))
  reader.end()
  return { dir, files: fs.readdirSync(dir).sort() }
}

test('a fetched output directory keeps the known outputs as private regular files and drops the rest', () => {
  const { dir, files } = fetchInto([
    { path: 'out/ready', type: 'file', mode: 0o777, content: Buffer.alloc(0) },
    { path: 'out/changes.patch', type: 'file', mode: 0o666, content: Buffer.from('diff\n') },
    { path: 'out/junk', type: 'file', mode: 0o644, content: Buffer.alloc(3000) },
    { path: 'out/deep', type: 'directory', mode: 0o755 },
    { path: 'out/deep/exit_code', type: 'symlink', mode: 0o777, linkname: '/etc/shadow' },
  ])
  try {
    assert.deepEqual(files, ['changes.patch', 'ready'])
    assert.equal(fs.readFileSync(path.join(dir, 'changes.patch'), 'utf8'), 'diff\n')
    assert.equal(fs.statSync(path.join(dir, 'changes.patch')).mode & 0o777, 0o600)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

for (const [what, entry, why] of [
  ['a link to a host secret', { path: 'out/changes.patch', type: 'symlink', mode: 0o777, linkname: '/etc/shadow' }, /is a symbolic link/],
  ['a directory', { path: 'out/exit_code', type: 'directory', mode: 0o755 }, /is a directory/],
  [
    'an oversized exit code',
    { path: 'out/exit_code', type: 'file', mode: 0o644, content: Buffer.alloc(70_000) },
    /is 70000 bytes, more than/,
  ],
] as const) {
  test(`an output that is ${what} refuses the run, naming it`, () => {
    assert.throws(
      () => fetchInto([entry as TarWriteEntry]),
      (e: unknown) => e instanceof RunOutputRefused && new RegExp(`output: ${entry.path.slice(4)} `).test(e.message) && why.test(e.message),
    )
  })
}

test('a FIFO or device in place of an output refuses the run (as tar writes them)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-fifo-'))
  try {
    fs.mkdirSync(path.join(dir, 'out'))
    execFileSync('mkfifo', [path.join(dir, 'out', 'snapshot.patch')])
    const data = execFileSync('tar', ['-C', dir, '-cf', '-', 'out'])
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-out-'))
    try {
      const reader = outputsReader(target)
      assert.throws(
        () => reader.write(data),
        (e: unknown) => e instanceof RunOutputRefused && /snapshot\.patch is a FIFO/.test(e.message),
      )
    } finally {
      fs.rmSync(target, { recursive: true, force: true })
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

/** A PAX extended header block and its records, written by hand as Go's archive/tar writes one for a size. */
function paxSize(size: string): Buffer {
  const record = ` size=${size}\n`
  const body = Buffer.from(`${record.length + String(record.length + 2).length}${record}`)
  const block = Buffer.alloc(512)
  block.write('PaxHeaders/x', 0)
  block.write('0000644\0', 100)
  block.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124)
  block.fill(' ', 148, 156)
  block.write('x', 156)
  block.write('ustar\0', 257)
  block.write('00', 263)
  let sum = 0
  for (const byte of block) sum += byte
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return Buffer.concat([block, body, Buffer.alloc(512 - body.length)])
}

test('a size beyond the header field (a PAX size record, 8 GB and more) is read, and refused before any content', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-out-'))
  try {
    const reader = outputsReader(dir)
    const header = tarEntry({ path: 'out/snapshot.patch', type: 'file', mode: 0o644 })
    assert.throws(
      () => reader.write(Buffer.concat([paxSize('8589934592'), ...header])),
      (e: unknown) => e instanceof RunOutputRefused && /snapshot\.patch is 8589934592 bytes, more than/.test(e.message),
    )
    assert.throws(() => readAll(Buffer.concat([paxSize('12abc'), ...header])), TarRefused)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
