// Reading the user's git settings and finding Docker's socket: the parsing and the rules, without processes.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

import { engineSocket } from '../../lib/container/engine-api.ts'
import { parseConfigList } from '../../lib/git/settings.ts'

test('git config -z records: keys lowercased, values kept whole, the last one wins', () => {
  const text =
    'user.name\nAda Lovelace\0core.excludesFile\n~/.gitignore_global\0user.name\nAda L.\0user.email\nada@example.com\nsecond line\0'
  const values = parseConfigList(text)
  assert.equal(values.get('user.name'), 'Ada L.')
  assert.equal(values.get('core.excludesfile'), '~/.gitignore_global')
  assert.equal(values.get('user.email'), 'ada@example.com\nsecond line')
  assert.equal(parseConfigList('').size, 0)
  assert.equal(parseConfigList('user.name\0').size, 0, 'a key without a value')
})

test('the engine is asked directly only where the docker CLI would ask the same socket', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'realm-socket-'))
  try {
    assert.equal(engineSocket({}, home), '/var/run/docker.sock')
    assert.equal(engineSocket({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }, home), '/run/user/1000/docker.sock')
    assert.equal(engineSocket({ DOCKER_HOST: 'tcp://10.0.0.1:2376' }, home), undefined)
    assert.equal(engineSocket({ DOCKER_CONTEXT: 'remote' }, home), undefined)
    fs.mkdirSync(path.join(home, '.docker'))
    fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'desktop-linux' }))
    assert.equal(engineSocket({}, home), undefined, 'a context chosen with `docker context use`')
    fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'default' }))
    assert.equal(engineSocket({}, home), '/var/run/docker.sock')
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
})
