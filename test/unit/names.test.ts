import assert from 'node:assert/strict'
import { test } from 'node:test'

import { nameProblem } from '../../lib/session/names.ts'

test('accepted names', () => {
  for (const name of ['a', 'fix-tests', 'v1.2_rc', '9lives', 'x'.repeat(64)]) assert.equal(nameProblem(name), undefined, name)
})

test('refused names', () => {
  for (const name of ['', '../x', 'a b', '-x', '.hidden', 'main.lock', 'a..b', 'end.', 'x'.repeat(65), 'a/b', 'ü', 'HEAD', 'a:b', 'a~1']) {
    assert.ok(nameProblem(name), `${JSON.stringify(name)} must be refused`)
  }
})
