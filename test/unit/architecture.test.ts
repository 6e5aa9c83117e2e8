// The house rules of lib/, checked on every test run: nothing imports commands/ (but the CLI that dispatches
// to them), no command imports another, git/ and container/ import no session code, and no import cycle.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'

const LIB = path.resolve(import.meta.dirname, '..', '..', 'lib')

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

/** lib-relative path → the lib-relative paths it imports (static and dynamic). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sourceFiles(LIB)) {
    const text = fs.readFileSync(file, 'utf8')
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
      path.relative(LIB, path.resolve(path.dirname(file), m[1].replace(/\.js$/, '.ts'))),
    )
    graph.set(path.relative(LIB, file), targets)
  }
  return graph
}

const graph = importGraph()
const folder = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '')
const edges = [...graph].flatMap(([from, targets]) => targets.map((to) => ({ from, to })))

test('every import names a file that exists', () => {
  const missing = edges.filter(({ to }) => !graph.has(to)).map(({ from, to }) => `${from} → ${to}`)
  assert.deepEqual(missing, [])
})

test('nothing imports commands/ except the CLI that dispatches to them', () => {
  const wrong = edges.filter(({ from, to }) => folder(to) === 'commands' && folder(from) !== 'commands' && from !== 'cli/program.ts')
  assert.deepEqual(
    wrong.map(({ from, to }) => `${from} → ${to}`),
    [],
  )
})

test('no command imports another; shared steps import no command', () => {
  const isCommand = (file: string) => /^commands\/[^/]+\.ts$/.test(file)
  const wrong = edges.filter(({ from, to }) => from.startsWith('commands/') && isCommand(to))
  assert.deepEqual(
    wrong.map(({ from, to }) => `${from} → ${to}`),
    [],
  )
})

test('git/ and container/ import no session code', () => {
  const wrong = edges.filter(({ from, to }) => ['git', 'container'].includes(folder(from)) && folder(to) === 'session')
  assert.deepEqual(
    wrong.map(({ from, to }) => `${from} → ${to}`),
    [],
  )
})

test('common/ imports nothing from the other folders', () => {
  const wrong = edges.filter(({ from, to }) => folder(from) === 'common' && folder(to) !== 'common')
  assert.deepEqual(
    wrong.map(({ from, to }) => `${from} → ${to}`),
    [],
  )
})

test('no import cycle', () => {
  const cycles: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (file: string) => {
    state.set(file, 'visiting')
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '))
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of graph.keys()) if (!state.has(file)) visit(file)
  assert.deepEqual(cycles, [])
})
