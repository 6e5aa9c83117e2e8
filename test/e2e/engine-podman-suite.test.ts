// The flows every engine must pass (test/helpers/engine-suite.ts) on Podman through its own CLI, rootful and
// rootless. What is Podman's alone (secret files hidden through its overlays, Docker's CLI on its socket, the
// files coming back the user's) is in engine-podman.test.ts.
import fs from 'node:fs/promises'
import path from 'node:path'
import { after } from 'node:test'

import { execa } from 'execa'

import { dockerSkip } from '../helpers/docker.js'
import { engineSuite } from '../helpers/engine-suite.js'
import { asUid } from '../helpers/hostile.js'
import { ensurePodman, PODMAN_USER, rootlessUser } from '../helpers/podman.js'
import { tempDir } from '../helpers/realm.js'

const dockerSkipped = await dockerSkip()
const podmanProblem = dockerSkipped ? undefined : await ensurePodman()
if (podmanProblem && process.env.CI) throw new Error(`the Podman tests need Podman: ${podmanProblem}`)
const skip = dockerSkipped || podmanProblem || (process.getuid?.() !== 0 ? 'the Podman tests set up users and run as root' : false)

const scratch = skip ? undefined : await tempDir('realm-podman-suite-')
// The rootless user's Podman may still be removing a container (its `container cleanup`, a sidecar's conmon) in
// the storage under scratch: its processes go first, then the tree, retried while they let go of it.
after(async () => {
  if (!scratch) return
  await execa('pkill', ['-KILL', '-u', PODMAN_USER], { reject: false })
  await fs.rm(scratch.path, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
})

/** `docker save IMAGE | podman load`, through a file `podman` (maybe as another user) can read. */
async function loadInto(image: string, load: (tar: string) => Promise<unknown>): Promise<void> {
  const tar = path.join(scratch?.path ?? '/tmp', `${image.replace(/[^a-z0-9]/gi, '-')}.tar`)
  await execa('docker', ['save', '-o', tar, image])
  await fs.chmod(tar, 0o644)
  await load(tar)
  await fs.rm(tar)
}

engineSuite(
  {
    name: "rootful Podman's CLI",
    env: { REALM_ENGINE: 'podman' },
    program: 'podman',
    loadImage: (image) => loadInto(image, (tar) => execa('podman', ['load', '-q', '-i', tar])),
  },
  skip,
)

// Rootless: its storage (the kernel's overlay, not vfs) named by CONTAINERS_STORAGE_CONF, so that the suite's
// own HOME for the user can stay.
const rootless = scratch ? await rootlessUser(scratch.path) : undefined
const storageConf = rootless ? path.join(rootless.home, '.config', 'containers', 'storage.conf') : ''
const rootlessEnv: Record<string, string> = rootless
  ? {
      REALM_ENGINE: 'podman',
      XDG_RUNTIME_DIR: rootless.runtimeDir,
      XDG_CONFIG_HOME: path.join(rootless.home, '.config'),
      XDG_DATA_HOME: path.join(rootless.home, '.local', 'share'),
      CONTAINERS_STORAGE_CONF: storageConf,
    }
  : { REALM_ENGINE: 'podman' }
if (rootless) {
  await fs.writeFile(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${rootless.home}/storage"\nrunroot = "${rootless.runtimeDir}/containers"\n`,
  )
  await fs.chmod(scratch?.path ?? '', 0o755)
  await execa('chown', ['-R', `${rootless.uid}:${rootless.gid}`, rootless.home])
}

engineSuite(
  {
    name: `rootless Podman's CLI (user ${PODMAN_USER})`,
    env: rootlessEnv,
    program: 'podman',
    user: rootless ? { uid: rootless.uid } : undefined,
    // Podman's own word that it cannot apply --pids-limit (cgroups v1), at every run: realm's lines are the rest.
    engineNotice: /^Resource limits are not supported and ignored on cgroups V1 rootless systems$/,
    loadImage: (image) =>
      loadInto(image, async (tar) => {
        const loaded = await asUid({ uid: rootless?.uid ?? -1 }, ['podman', 'load', '-q', '-i', tar], {
          env: rootlessEnv,
          extendEnv: true,
        })
        if (loaded.exitCode !== 0) throw new Error(`podman load as ${PODMAN_USER}: ${loaded.stderr}`)
      }),
  },
  skip,
)
