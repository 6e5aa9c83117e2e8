// The shell in docker/ cannot import lib/run/protocol.ts, so this test reads it as text: every mount point,
// environment variable and output file the scripts name must be the protocol's, and every name the protocol
// gives the container must be one the scripts use (HOST_ONLY lists the exceptions). Where the shell repeats a
// git setting the host also holds, the two copies must agree, and every difference is named here with its reason.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'

import { PATCH_OPTIONS } from '../../lib/git/exec.ts'
import { HERMETIC_CONFIG } from '../../lib/git/hermetic.ts'
import { CONTAINER_GIT_CONFIG, ENV, HOST_ONLY, MOUNT, OUT } from '../../lib/run/protocol.ts'

const DOCKER = path.resolve(import.meta.dirname, '..', '..', 'docker')

/** Every shell file under docker/ (the entrypoint and what it sources or runs), by docker/-relative path. */
function scripts(dir = DOCKER): Map<string, string> {
  const found = new Map<string, string>()
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) for (const [name, text] of scripts(full)) found.set(name, text)
    else if (entry.name.endsWith('.sh')) found.set(path.relative(DOCKER, full), fs.readFileSync(full, 'utf8'))
  }
  return found
}

/** The code alone: comment lines and trailing comments go, so a name counts only where the shell uses it. */
function code(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .map((line) => line.replace(/\s#\s.*$/, '').trimEnd())
    .join('\n')
}

const SHELL = scripts()
const ALL = [...SHELL.values()].map(code).join('\n')

const found = (pattern: RegExp, text = ALL) => [...new Set([...text.matchAll(pattern)].map((m) => m[1]))].sort()
const sorted = (names: Iterable<string>) => [...new Set(names)].sort()
const without = (names: Iterable<string>, less: readonly string[]) => sorted([...names].filter((n) => !less.includes(n)))

/** The `-c` settings in the shell's realm_git_config. */
function shellGitConfig(): string[] {
  const value = /^realm_git_config='([^']*)'/m.exec(SHELL.get('lib/git.sh') ?? '')?.[1]
  assert.ok(value, 'docker/lib/git.sh sets realm_git_config')
  const words = value.split(/\s+/).filter(Boolean)
  assert.ok(
    words.every((word, i) => (i % 2 === 0) === (word === '-c')),
    `realm_git_config is '-c setting' pairs: ${value}`,
  )
  return words.filter((_, i) => i % 2 === 1)
}

test('the scripts are found: the entrypoint, and every piece is sourced or run by another', () => {
  assert.ok(SHELL.has('entrypoint.sh'))
  for (const name of SHELL.keys()) {
    // The network sidecar's script is an entrypoint of its own (lib/net/sidecar.ts starts it).
    if (name === 'entrypoint.sh' || name === 'net/firewall.sh') continue
    const others = [...SHELL].filter(([other]) => other !== name).map(([, text]) => code(text))
    assert.ok(
      others.some((text) => text.includes(`/${path.basename(name)}"`)),
      `${name} is sourced or run by another script`,
    )
  }
})

test("mount points: the scripts use exactly the protocol's, less the host-only ones", () => {
  const used = found(/(?<![\w.$/])(\/realm\/[a-z-]+|\/workspace)\b/g)
  assert.deepEqual(used, without(Object.values(MOUNT), HOST_ONLY.mounts))
  // The image's own mention (its HOME) is a protocol mount too.
  const dockerfile = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8')
  for (const mount of found(/(\/realm\/[a-z-]+)/g, dockerfile)) assert.ok(Object.values<string>(MOUNT).includes(mount), mount)
})

test("environment: the scripts read exactly the protocol's REALM_* variables", () => {
  assert.deepEqual(found(/\b(REALM_[A-Z_]+)\b/g), sorted(Object.values(ENV)))
})

test("output files: the scripts name exactly the protocol's, less the host-only ones", () => {
  // Only the entrypoint names the output directory; everything else reaches it through $out, so the scan below
  // sees every output file.
  assert.deepEqual(found(/(.*\/realm\/out\b.*)/g), ['out=/realm/out'])
  // NAME.tmp is NAME's temp file (written, then renamed onto NAME).
  const names = found(/\$\{?out\}?\/([\w.-]+)/g).map((name) => name.replace(/\.tmp$/, ''))
  assert.deepEqual(sorted(names), without(Object.values(OUT), HOST_ONLY.files))
})

test("the container's hermetic git settings are the protocol's", () => {
  assert.deepEqual(shellGitConfig(), [...CONTAINER_GIT_CONFIG])
})

test("the container's git settings differ from the host's only as stated", () => {
  const hostOnly: Record<string, string> = {
    // the container's git never reads user-wide configuration: git.sh exports GIT_CONFIG_GLOBAL=/dev/null
    'core.attributesFile=/dev/null': 'GIT_CONFIG_GLOBAL=/dev/null',
    // realm makes no commit inside the container (checked below)
    'commit.gpgSign=false': 'no commit',
    // every `git apply` in the container passes --whitespace=nowarn itself (checked below)
    'apply.whitespace=nowarn': '--whitespace=nowarn',
  }
  const containerOnly: Record<string, string> = {
    // realm's repository in the container is made by hand: nothing probed the filesystem as `git init` would
    'core.fileMode=true': 'by hand',
    'core.symlinks=true': 'by hand',
    // a capture diffs and stores files up to 2 GiB like any other, not as git's "big files" (binary, undeltified)
    'core.bigFileThreshold=2g': 'big files',
    // no advice on the container's stderr, which is the user's terminal
    'advice.detachedHead=false': 'quiet',
  }
  assert.deepEqual(without(HERMETIC_CONFIG, Object.keys(hostOnly)), without(CONTAINER_GIT_CONFIG, Object.keys(containerOnly)))
  assert.match(ALL, /export [^\n]*GIT_CONFIG_GLOBAL=\/dev\/null/)
  // Quoted strings (messages) left out, what remains of each line is commands.
  const lines = ALL.split('\n').map((line) => line.replace(/"[^"]*"|'[^']*'/g, '""'))
  assert.deepEqual(
    lines.filter((line) => /\bgit\b|realm_git/.test(line) && /\scommit\b/.test(line)),
    [],
    'no git commit in the container',
  )
  const applies = lines.filter((line) => /\sapply\s+-/.test(line))
  assert.ok(applies.length > 0)
  for (const line of applies) assert.match(line, /--whitespace=nowarn/)
})

test('patches are made with the same options in the container as on the host', () => {
  const line = /realm_git diff-tree -r ([^"]*?)\s*\\?\s*"\$2" "\$3"/.exec(code(SHELL.get('lib/git.sh') ?? ''))
  assert.ok(line, 'patch_to in docker/lib/git.sh runs diff-tree')
  assert.deepEqual(
    line[1].split(/\s+/).filter((w) => w !== '\\'),
    [...PATCH_OPTIONS],
  )
})
