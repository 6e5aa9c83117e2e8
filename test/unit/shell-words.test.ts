import assert from 'node:assert/strict'
import { test } from 'node:test'

import { splitShellWords } from '../../lib/common/shell-words.ts'

test('splits like a shell, expanding nothing', () => {
  assert.deepEqual(splitShellWords(''), [])
  assert.deepEqual(splitShellWords('  -m 1g   --cpus=2 '), ['-m', '1g', '--cpus=2'])
  assert.deepEqual(splitShellWords(`-e 'A=b c' -e "D=\\"e\\" $HOME" x\\ y`), ['-e', 'A=b c', '-e', 'D="e" $HOME', 'x y'])
  assert.deepEqual(splitShellWords(`$(rm -rf /) \`id\` *`), ['$(rm', '-rf', '/)', '`id`', '*'])
  assert.deepEqual(splitShellWords(`''`), [''])
})

test('an unterminated quote is an error', () => {
  assert.throws(() => splitShellWords(`-e "oops`), /unterminated/)
})
