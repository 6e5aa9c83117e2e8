import assert from 'node:assert/strict'
import { test } from 'node:test'

import { parsePatch, patchStat, unquotePath } from '../../lib/patch/parse.ts'

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
