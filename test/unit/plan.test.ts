import assert from 'node:assert/strict'
import { test } from 'node:test'

import { agentCommand, cacArgv, NEW_SPEC, RESUME_SPEC, splitArgs } from '../../lib/cli/argv.ts'

const dirs = new Set(['../proj', '/abs/proj'])
const isDir = (w: string) => dirs.has(w)

const cases: Array<[string, string[], ReturnType<typeof splitArgs>]> = [
  ['name only', ['s1'], { realm: [], positionals: ['s1'], agent: [] }],
  ['existing directory is the project', ['s1', '../proj', 'fix it'], { realm: [], positionals: ['s1', '../proj'], agent: ['fix it'] }],
  ['a word that is not a directory goes to the agent', ['s1', 'fix it'], { realm: [], positionals: ['s1'], agent: ['fix it'] }],
  [
    'realm options anywhere before --',
    ['s1', '-p', 'hi', '--image', 'img', '--shell'],
    { realm: ['--image', 'img', '--shell'], positionals: ['s1'], agent: ['-p', 'hi'] },
  ],
  ['--opt=value form', ['s1', '--docker-args=-m 1g'], { realm: ['--docker-args=-m 1g'], positionals: ['s1'], agent: [] }],
  [
    "everything after -- is the agent's",
    ['s1', '--', '--image', 'x', '../proj'],
    { realm: [], positionals: ['s1'], agent: ['--image', 'x', '../proj'] },
  ],
  [
    'unknown flags and their values go to the agent',
    ['s1', '--model', 'opus', 'do it'],
    { realm: [], positionals: ['s1'], agent: ['--model', 'opus', 'do it'] },
  ],
  [
    "a directory after agent words stays the agent's",
    ['s1', '-p', '../proj'],
    { realm: [], positionals: ['s1'], agent: ['-p', '../proj'] },
  ],
  ["help is realm's", ['s1', '--help'], { realm: ['--help'], positionals: ['s1'], agent: [] }],
]

for (const [title, words, expected] of cases) {
  test(`new: ${title}`, () => {
    assert.deepEqual(splitArgs(words, NEW_SPEC, isDir), expected)
  })
}

test('resume never takes a project directory', () => {
  assert.deepEqual(splitArgs(['s1', '../proj'], RESUME_SPEC, isDir), { realm: [], positionals: ['s1'], agent: ['../proj'] })
  assert.deepEqual(splitArgs(['s1', '--remote'], RESUME_SPEC, isDir).agent, ['--remote'], '--remote is not a resume option')
})

test('cac receives agent words after --', () => {
  assert.deepEqual(cacArgv('new', { realm: ['--shell'], positionals: ['s1'], agent: ['-p', 'x'] }), [
    'new',
    's1',
    '--shell',
    '--',
    '-p',
    'x',
  ])
})

test('the agent runs with every permission; --shell runs a shell', () => {
  assert.deepEqual(agentCommand(['-p', 'hi'], false), ['claude', '--dangerously-skip-permissions', '-p', 'hi'])
  assert.equal(agentCommand([], true)[0], 'sh')
})
