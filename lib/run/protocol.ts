// The host↔container protocol: where realm mounts things inside the container, the environment variables the
// entrypoint reads, and the files of the run's output directory. The host code uses these names; the shell in
// docker/ cannot import them, so test/unit/protocol.test.ts reads the scripts and checks that both sides name
// exactly the same things.

/** Paths inside the container. */
export const MOUNT = {
  /** realm's docker/ directory, read-only; the host runs `${lib}/entrypoint.sh`, which finds its pieces beside itself */
  lib: '/realm/lib',
  /** the user's repository, read-only (for an overlay run: the lower layer) */
  project: '/realm/project',
  /**
   * the workspace on an engine that gives a new volume's root the owner of the directory the image has where it
   * is mounted (rootless Podman): a place no image has, so that the root stays the user's
   */
  ownWorkspace: '/realm/workspace',
  /** the session's patches alone (baseline.patch, base.patch, changes.patch), read-only, in a directory realm
   * fills afresh for each run: nothing else of the session (failed/, checksums, metadata) */
  session: '/realm/session',
  /** this run's output directory (OUT), the only writable host mount */
  out: '/realm/out',
  /** overlay runs only: the upper layer, read-only, to tell the container's writes from the host's */
  upper: '/realm/upper',
  /** a tmpfs for realm's own git directory: its indexes and objects vanish with the container */
  git: '/realm/git',
  /** HOME, a fresh tmpfs each run (the default image's HOME too) */
  home: '/realm/home',
  /** the run's ~/.claude.json (the host's plus what realm keeps), read-only (see container/claude-config.ts) */
  claudeState: '/realm/claude-state',
  /** each entry of the host's Claude Code config directory (settings, commands, CLAUDE.md, ...), read-only */
  claudeConfig: '/realm/claude-config',
  /** the login the run starts with, a read-only file (absent when there is none) */
  claudeLogin: '/realm/claude-login',
  /** the session's own Claude Code conversations and todos, writable; the host never reads it */
  claudeHistory: '/realm/claude-history',
  /** where the agent works: a tmpfs for copy runs, the overlay volume otherwise */
  workspace: '/workspace',
  /** streamed runs (an engine that cannot see the host's files): the project's objects realm sent there before,
   * in a volume of the engine's own, read-only (the agent must not change what later runs start from) */
  cache: '/realm/cache',
  /** streamed runs: the objects of the session's commit the cache lacks (objects.pack), and the commits the
   * pack was made against (have), which the cache must hold */
  input: '/realm/input',
  /** streamed runs with --include-ignored: the files git ignores, as the host has them */
  ignored: '/realm/ignored',
} as const

/** REALM_MODE's values: a new session's first run, or a run on top of everything so far. */
export type RunMode = 'new' | 'resume'

/** Environment variables the entrypoint reads. */
export const ENV = {
  /** 'new' or 'resume' */
  mode: 'REALM_MODE',
  /** the session's commit */
  base: 'REALM_BASE',
  /** the user's branch name, for the copy's checkout */
  branch: 'REALM_BRANCH',
  /** where the user stood in the repository: the agent starts there */
  subdir: 'REALM_SUBDIR',
  /** copy runs: bring the files git ignores along */
  includeIgnored: 'REALM_INCLUDE_IGNORED',
  /** `new --remote`: the baseline is the commit alone, not the user's working tree */
  cleanStart: 'REALM_CLEAN_START',
  /** phase timestamps on stderr */
  trace: 'REALM_TRACE',
  /** 'overlay' or 'copy' */
  workspace: 'REALM_WORKSPACE',
  /** MOUNT.workspace */
  workspaceDir: 'REALM_WORKSPACE_DIR',
  /** '1' under an enforcing network policy: wait for OUT.netReady before starting the agent */
  netWait: 'REALM_NET_WAIT',
  /** '1' when the engine cannot see the host's files: the project arrives as objects (MOUNT.input over
   * MOUNT.cache), a new session's baseline as the session's baseline.patch, ignored files in MOUNT.ignored */
  streamed: 'REALM_STREAMED',
  /** never set by realm (the container's default applies): where realm's own git directory goes */
  gitDir: 'REALM_GIT_DIR',
  /** never set by realm (the container's default applies): seconds between snapshots */
  snapshotSeconds: 'REALM_SNAPSHOT_SECONDS',
} as const

/** The files of the run's output directory (MOUNT.out on the container's side). */
export const OUT = {
  /** host → container: the user's global excludes file, which decides what "untracked" means */
  globalExcludes: 'global-excludes',
  /** host → container: the hidden secret files git tracks (NUL-separated; absent when there are none). The
   * session keeps their committed version, a copy's checkout leaves them out (read before the agent starts) */
  hiddenTracked: 'hidden-tracked',
  /** new sessions: the user's uncommitted and untracked work relative to REALM_BASE */
  baselinePatch: 'baseline.patch',
  /** resumed sessions: everything earlier runs produced, in one patch from the baseline */
  basePatch: 'base.patch',
  /** the container's scratch file while it brings a copy to the session's state; removed before `ready` */
  startPatch: 'start.patch',
  /** overlay runs: an index of the project as the run found it (stat data included) */
  lowerIndex: 'lower.index',
  /** host → container, under an enforcing network policy: the sidecar's rules are in place, the agent may start
   * (created by realm with O_EXCL|O_NOFOLLOW; read only before the agent starts, so the agent cannot forge it) */
  netReady: 'net-ready',
  /** the workspace is prepared and the agent is about to start */
  ready: 'ready',
  /** the agent's work so far, refreshed every few seconds while it runs */
  snapshotPatch: 'snapshot.patch',
  /** the agent's exit code */
  exitCode: 'exit_code',
  /** the run's final patch (empty when nothing changed) */
  changesPatch: 'changes.patch',
  /** overlay runs: the paths the container wrote (NUL-separated) */
  agentPaths: 'agent-paths',
  /** every output above is final (the host starts saving while docker removes the container) */
  done: 'done',
  /** why the workspace could not be prepared, one line */
  error: 'error',
  /** streamed runs: the engine's cache lacks a commit the objects were sent against (realm sends them all again) */
  cacheMiss: 'cache-miss',
  /** the agent's ~/.claude.json as it left it (realm keeps answers and a login from it, nothing else) */
  claudeJson: 'claude.json',
  /** the agent's login, when it differs from the one the run started with */
  claudeLogin: 'claude-login.json',
  /** the configuration entries the agent changed in its copy, `changed|added|removed NAME` lines */
  claudeChanges: 'claude-changes',
  /** the agent's ~/.claude/settings.json, when it changed it (realm names the keys it changed) */
  claudeSettings: 'claude-settings.json',
} as const

/** Names the host uses that the container's scripts never do (the protocol test exempts exactly these). */
export const HOST_ONLY = {
  /**
   * the host mounts and runs the entrypoint there; the scripts locate each other from $0; the workspace's place
   * on rootless Podman reaches them as REALM_WORKSPACE_DIR
   */
  mounts: [MOUNT.lib, MOUNT.home, MOUNT.ownWorkspace] as readonly string[],
  files: [] as readonly string[],
}

/**
 * The `-c` settings every git command of realm's runs with inside the container (docker/lib/git.sh repeats
 * them). Not the host's list (git/hermetic.ts HERMETIC_CONFIG): the protocol test names the differences and why.
 * Patches are made with git/exec.ts PATCH_OPTIONS on both sides.
 */
export const CONTAINER_GIT_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.autocrlf=false',
  'core.safecrlf=false',
  'core.fileMode=true',
  'core.symlinks=true',
  'core.quotePath=false',
  'core.bigFileThreshold=2g',
  'gc.auto=0',
  'advice.detachedHead=false',
] as const
