// A suite's fixture: a temp directory holding a repository (project/) and a REALM_HOME (home/), made before
// the suite's tests and removed after them.
import path from 'node:path'
import { after, before } from 'node:test'

import { tempDir } from './realm.js'
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
  let cleanup = async () => undefined as void
  before(async () => {
    const dir = await tempDir()
    cleanup = dir.cleanup
    set({ tmp: dir.path, project: await makeRepo(path.join(dir.path, 'project'), files), home: path.join(dir.path, 'home') })
  })
  after(async () => cleanup())
}
