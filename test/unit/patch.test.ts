import assert from 'node:assert/strict'
import { test } from 'node:test'

import { createHash } from 'node:crypto'

import { addedFile } from '../../lib/patch/added.ts'
import {
  changeOfSection,
  filePatchOfSection,
  parsePatch,
  parseSection,
  patchStat,
  splitSectionBytes,
  splitSections,
  unquotePath,
} from '../../lib/patch/parse.ts'

const PATCH = `diff --git a/a.txt b/a.txt
old mode 100644
new mode 100755
index 1111111..2222222
--- a/a.txt
+++ b/a.txt
@@ -1,2 +1,3 @@
 one
-two
+2
+three
diff --git a/bin.dat b/bin2.dat
similarity index 100%
rename from bin.dat
rename to bin2.dat
diff --git a/new file.txt b/new file.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new file.txt\t
@@ -0,0 +1 @@
+--- not a header
diff --git "a/t\\303\\251st" "b/t\\303\\251st"
deleted file mode 100644
index 4444444..0000000
GIT binary patch
literal 0
HcmV?d00001

diff --git a/empty b/empty
new file mode 100644
index 0000000..e69de29
`

test('parses every kind of change git writes', () => {
  const files = parsePatch(PATCH)
  assert.deepEqual(
    files.map((f) => [f.kind, f.oldPath, f.path, f.added, f.removed, f.binary]),
    [
      ['modified', 'a.txt', 'a.txt', 2, 1, false],
      ['renamed', 'bin.dat', 'bin2.dat', 0, 0, false],
      ['added', 'new file.txt', 'new file.txt', 1, 0, false],
      ['deleted', 'tést', 'tést', 0, 0, true],
      ['added', 'empty', 'empty', 0, 0, false],
    ],
  )
  assert.equal(files[0].oldMode, '100644')
  assert.equal(files[0].newMode, '100755')
  assert.deepEqual(patchStat(files), { files: 5, added: 3, removed: 1 })
})

test('an empty patch has no files', () => {
  assert.deepEqual(parsePatch(''), [])
})

test("unquotes git's C-style paths", () => {
  assert.equal(unquotePath('"a/t\\303\\251st\\ttab\\"q"'), 'a/tést\ttab"q')
  assert.equal(unquotePath('plain'), 'plain')
})

/** A file's change without its text, as changeOfSection gives it. */
function change(section: string) {
  const { text: _, ...rest } = parseSection(section)
  return rest
}

test('a section read from its bytes says what the text parser says', () => {
  const sections = splitSectionBytes(Buffer.from(PATCH))
  assert.deepEqual(
    sections.map((s) => s.toString()),
    splitSections(PATCH),
  )
  assert.deepEqual(sections.map(changeOfSection), splitSections(PATCH).map(change))
  // Added and deleted files are counted from their hunk's header; modified ones line by line.
  const big = `diff --git a/big b/big\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/big\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\ndiff --git a/gone b/gone\ndeleted file mode 100755\nindex 2222222..0000000\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git a/m b/m\nindex 3333333..4444444 100644\n--- a/m\n+++ b/m\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -9 +9,2 @@\n x\n+y\n`
  assert.deepEqual(splitSectionBytes(Buffer.from(big)).map(changeOfSection), splitSections(big).map(change))
  assert.deepEqual(
    splitSectionBytes(Buffer.from(big)).map((s) => [s.length > 0, changeOfSection(s).added, changeOfSection(s).removed]),
    [
      [true, 3, 0],
      [true, 0, 1],
      [true, 2, 1],
    ],
  )
})

test('text before the first section belongs to none; a patch without sections has none', () => {
  const mail = `From 1234 Mon Sep 17 00:00:00 2001\nSubject: x\n\n${PATCH}`
  assert.deepEqual(
    splitSectionBytes(Buffer.from(mail)).map((s) => s.toString()),
    splitSections(PATCH),
  )
  assert.deepEqual(splitSectionBytes(Buffer.from('no patch here\n')), [])
  assert.deepEqual(splitSections(''), [])
})

test('a FilePatch read from bytes decodes its text only when asked', () => {
  const [section] = splitSectionBytes(Buffer.from(PATCH))
  const file = filePatchOfSection(section)
  assert.equal(file.text, splitSections(PATCH)[0])
  assert.deepEqual({ ...file }, parseSection(splitSections(PATCH)[0]))
})

test('a hunk of 300,000 lines parses (nothing spreads it into a call)', () => {
  const lines = 300_000
  const text = `diff --git a/huge b/huge\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/huge\n@@ -0,0 +1,${lines} @@\n${'+line\n'.repeat(lines)}`
  assert.equal(parseSection(text).added, lines)
  assert.equal(changeOfSection(Buffer.from(text)).added, lines)
})

/** A section adding `content` at `path`, as git writes it (with --full-index). */
function addition(path: string, content: Buffer, mode = '100644'): Buffer {
  const oid = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
  const text = content.toString('latin1')
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n')
  const tail = text.endsWith('\n') ? '' : '\\ No newline at end of file\n'
  const quoted = path.includes(' ') ? '\t' : ''
  const head = `diff --git a/${path} b/${path}\nnew file mode ${mode}\nindex ${'0'.repeat(40)}..${oid}\n--- /dev/null\n+++ b/${path}${quoted}\n@@ -0,0 +1${lines.length === 1 ? '' : `,${lines.length}`} @@\n`
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from(lines.map((l) => `+${l}\n`).join('') + tail, 'latin1')])
}

test('an added file is read back byte for byte: newline at the end or not, CRLF, bytes that are not UTF-8', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['a.txt', Buffer.from('one\ntwo\n'), '100644'],
    ['no newline.txt', Buffer.from('one\ntwo'), '100644'],
    ['run.sh', Buffer.from('#!/bin/sh\r\necho hi\r\n'), '100755'],
    ['dir/ünï.txt', Buffer.from([0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x0a]), '100644'],
    ['one.txt', Buffer.from('x'), '100644'],
  ]
  for (const [path, content, mode] of cases) {
    const file = addedFile(addition(path, content, mode))
    assert.ok(file, path)
    assert.deepEqual(file.content, content, path)
    assert.equal(file.mode, mode)
    assert.deepEqual(file.path, Buffer.from(path), path)
    assert.equal(file.oid, createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex'))
  }
})

test('anything but a plainly added text file is left to git', () => {
  const [modified, , , deleted, empty] = splitSectionBytes(Buffer.from(PATCH))
  for (const section of [modified, deleted, empty]) assert.equal(addedFile(section), undefined)
  const ok = addition('a.txt', Buffer.from('one\ntwo\n'))
  const text = ok.toString('latin1')
  const variants = {
    'a symlink': text.replace('new file mode 100644', 'new file mode 120000'),
    'a short object name': text.replace(/index 0+\.\./, 'index 0000000..'),
    'a quoted path': text.replace('+++ b/a.txt', '+++ "b/a\\ttab.txt"'),
    'a line too many': `${text}+three\n`,
    'a line too few': text.replace('+two\n', ''),
    'a context line': text.replace('+two\n', ' two\n'),
    'no final newline in the patch': text.slice(0, -1),
  }
  for (const [what, variant] of Object.entries(variants)) assert.equal(addedFile(Buffer.from(variant, 'latin1')), undefined, what)
})
