// Fixtures: for an e2e suite, a temp directory holding a repository (project/) and a REALM_HOME (home/), made
// before the suite's tests and removed after them; for a file of integration tests, a REALM_HOME in this process.
import path from 'node:path'
import { after, before } from 'node:test'

import { tempDir } from './temp.js'
import { makeRepo } from './repo.js'

export interface ProjectFixture {
  /** the temp directory */
  tmp: string
  project: string
  home: string
}

/**
 * Registers the fixture in the current suite. `set` receives it once made, before the first test (the
 * suite's own `before` hooks registered after this call run after it).
 */
export function useProject(files: Record<string, string | Buffer> | undefined, set: (fixture: ProjectFixture) => void): void {
  let cleanup: () => Promise<void> = async () => {}
  before(async () => {
    const dir = await tempDir()
    cleanup = dir.cleanup
    set({ tmp: dir.path, project: await makeRepo(path.join(dir.path, 'project'), files), home: path.join(dir.path, 'home') })
  })
  after(async () => cleanup())
}

export interface RealmHomeFixture {
  tmp: string
  /** $REALM_HOME */
  home: string
  /** A new path under the temp directory (not made), unique within the file: `fresh('project')` → …/project-3. */
  fresh(label: string): string
}

/** The environment lib/ code reads, set for a whole test file and put back after it. */
const PINNED_ENV = ['REALM_HOME', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL'] as const

/**
 * For a file of tests that call lib/ directly, in this process: a temp directory whose home/ is REALM_HOME (the
 * store reads process.env), and git without this machine's configuration (push and the identity lookup read
 * the global configuration, as they must for a user). Call at the top of the file, with await.
 */
export async function useRealmHome(): Promise<RealmHomeFixture> {
  const dir = await tempDir('realm-integration-')
  const saved = Object.fromEntries(PINNED_ENV.map((key) => [key, process.env[key]]))
  const home = path.join(dir.path, 'home')
  Object.assign(process.env, { REALM_HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' })
  after(async () => {
    for (const key of PINNED_ENV) {
      if (saved[key] === undefined) delete process.env[key]
      else process.env[key] = saved[key]
    }
    await dir.cleanup()
  })
  let counter = 0
  return { tmp: dir.path, home, fresh: (label) => path.join(dir.path, `${label}-${++counter}`) }
}
