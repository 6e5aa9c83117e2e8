import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import kleur from 'kleur'

import { parsePatch, splitSectionBytes, splitSections } from '../../lib/patch/parse.ts'
import { renderDiff, renderSection } from '../../lib/patch/render.ts'
import { flagLines, riskLines } from '../../lib/patch/risk.ts'
import { PatchSummaryBuilder } from '../../lib/patch/summarize.ts'
import { counts, fileLines, statLine } from '../../lib/patch/summary.ts'

kleur.enabled = false

const PATCH = [
  'diff --git a/a.txt b/a.txt',
  'index 1111111..2222222 100644',
  '--- a/a.txt',
  '+++ b/a.txt',
  '@@ -1,2 +1,3 @@ heading',
  ' one',
  '-two',
  '+TWO',
  '+three',
  '@@ -10,0 +11 @@',
  '+tail',
  'diff --git a/new.txt b/new.txt',
  'new file mode 100644',
  'index 0000000..3333333',
  '--- /dev/null',
  '+++ b/new.txt',
  '@@ -0,0 +1 @@',
  '+hello',
  '\\ No newline at end of file',
  'diff --git a/img.png b/img.png',
  'index 4444444..5555555 100644',
  'GIT binary patch',
  'literal 3',
  'KcmZ?wbo2lK',
  '',
  'literal 0',
  'KcmV+b0RR6000031',
  '',
  'diff --git a/run.sh b/run.sh',
  'old mode 100644',
  'new mode 100755',
  'diff --git a/old name.txt b/new name.txt',
  'similarity index 100%',
  'rename from old name.txt',
  'rename to new name.txt',
  'diff --git a/gone.txt b/gone.txt',
  'deleted file mode 100644',
  'index 6666666..0000000',
  '--- a/gone.txt',
  '+++ /dev/null',
  '@@ -1,2 +0,0 @@',
  '-x',
  '-y',
  '',
].join('\n')

describe('diffstat', () => {
  const files = parsePatch(PATCH)

  test('statLine totals files and lines', () => {
    assert.equal(statLine('Session', files), 'Session: 6 files changed, +4 -3')
    assert.equal(statLine('This run', files.slice(1, 2)), 'This run: 1 file changed, +1 -0')
    assert.equal(statLine('This run', []), 'This run: no changes')
  })

  test('fileLines: kind, path, counts, binary, modes, renames', () => {
    assert.deepEqual(fileLines(files), [
      '  M a.txt  +3 -1',
      '  A new.txt  +1',
      '  M img.png  binary',
      '  M run.sh  +0 mode 100644 → 100755',
      '  R old name.txt → new name.txt  +0',
      '  D gone.txt  -2',
    ])
  })

  test('fileLines stops at the limit and says how to see the rest', () => {
    const lines = fileLines(files, 2)
    assert.equal(lines.length, 3)
    assert.equal(lines[2], '  … and 4 more (realm diff --stat)')
  })

  test('counts of a pure deletion show only the removed lines', () => {
    assert.equal(counts(files[5]), '-2')
  })
})

describe('rendered diff', () => {
  const lines = renderDiff(parsePatch(PATCH))

  test('keeps headers and hunks, with unified hunk headers', () => {
    const text = lines.join('\n')
    assert.match(
      text,
      /^diff --git a\/a.txt b\/a.txt\nindex 1111111..2222222 100644\n--- a\/a.txt\n\+\+\+ b\/a.txt\n@@ -1,2 \+1,3 @@\n one\n-two\n\+TWO\n\+three\n@@ -10,0 \+11,1 @@\n\+tail\n/,
    )
    assert.match(text, /@@ -0,0 \+1,1 @@\n\+hello\n\\ No newline at end of file/)
    assert.match(text, /@@ -1,2 \+0,0 @@\n-x\n-y/)
  })

  test('names binary changes instead of printing their data', () => {
    assert.ok(lines.includes('Binary file img.png changed'))
    assert.ok(!lines.some((l) => l.includes('KcmZ')))
  })

  test('mode changes and renames keep their git headers', () => {
    assert.ok(lines.includes('old mode 100644') && lines.includes('new mode 100755'))
    assert.ok(lines.includes('rename to new name.txt'))
  })

  test('colors added and removed lines when enabled', () => {
    kleur.enabled = true
    try {
      const colored = renderDiff(parsePatch(PATCH))
      assert.ok(colored.includes(kleur.green('+TWO')))
      assert.ok(colored.includes(kleur.red('-two')))
    } finally {
      kleur.enabled = false
    }
  })
})

describe('a summary built a section at a time, from bytes', () => {
  const RISKY = `${PATCH}diff --git a/package.json b/package.json\nindex 7777777..8888888 100644\n--- a/package.json\n+++ b/package.json\n@@ -1,3 +1,3 @@\n {\n   "scripts": {\n-    "test": "a"\n+    "test": "b"\n`
  const builder = new PatchSummaryBuilder()
  for (const section of splitSectionBytes(Buffer.from(RISKY))) builder.add(section)
  const files = parsePatch(RISKY)

  test('says what the whole patch parsed at once says', () => {
    assert.equal(statLine('Session', builder.summary.files), statLine('Session', files))
    assert.deepEqual(fileLines(builder.summary.files, Infinity), fileLines(files, Infinity))
    assert.deepEqual(flagLines(builder.summary.flags), riskLines(files))
    assert.equal(builder.summary.flags.length, 1, 'the package.json scripts')
  })

  test('keeps no section text', () => {
    assert.ok(builder.summary.files.every((f) => !('text' in f)))
  })
})

describe('rendering a section at a time', () => {
  test('draws what rendering the parsed files draws', () => {
    assert.deepEqual(splitSections(PATCH).flatMap(renderSection), renderDiff(parsePatch(PATCH)))
  })

  test('a hunk of 300,000 lines renders (nothing spreads it into a call)', () => {
    const lines = 300_000
    const text = `diff --git a/huge b/huge\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/huge\n@@ -0,0 +1,${lines} @@\n${'+line\n'.repeat(lines)}`
    const out = renderSection(text)
    assert.equal(out.length, 3 + 2 + 1 + lines) // diff --git, new file mode, index; ---, +++; the hunk header
    assert.equal(out.at(-1), '+line')
  })
})
