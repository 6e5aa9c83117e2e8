// The options of the commands that run the agent, declared once: cac gets its help and parsing from this
// table, and the argument splitter (argv.ts) learns from it which words are realm's and which the agent's.
import { DEFAULT_IMAGE } from '../container/image.js'
import { DEFAULT_CAPS, DEFAULT_PIDS_LIMIT, DEFAULT_TMPFS_SIZE } from '../container/limits.js'

export type RunCommand = 'new' | 'resume'

export interface RunOption {
  /** as cac takes it: '--image <image>' for an option with a value, '--shell' for a switch */
  flag: string
  description: Record<RunCommand, string> | string
  commands: readonly RunCommand[]
}

export const RUN_OPTIONS: readonly RunOption[] = [
  { flag: '--remote', description: 'Start from origin/<name> and push on top of it', commands: ['new'] },
  {
    flag: '--project <dir>',
    description: 'Project directory (default: the first argument that is a directory, else the current directory)',
    commands: ['new'],
  },
  {
    flag: '--image <image>',
    description: {
      new: `Docker image (default: $REALM_IMAGE or ${DEFAULT_IMAGE})`,
      resume: 'Docker image (default: the one the session started with)',
    },
    commands: ['new', 'resume'],
  },
  {
    flag: '--docker-args <args>',
    description: 'Extra docker run flags, split like a shell would (default: $REALM_DOCKER_ARGS)',
    commands: ['new', 'resume'],
  },
  { flag: '--shell', description: 'Open an interactive shell in the workspace instead of the agent', commands: ['new', 'resume'] },
  {
    flag: '--workspace <strategy>',
    description: 'overlay or copy (default: $REALM_WORKSPACE, else overlay where supported; a remote engine: copy)',
    commands: ['new', 'resume'],
  },
  { flag: '--include-ignored', description: 'With a copy workspace, also copy files git ignores', commands: ['new', 'resume'] },
  {
    flag: '--hide <pattern>',
    description: 'Hide files matching this gitignore-like pattern from the agent too (repeatable; also $REALM_HIDE, ~/.realm/hide)',
    commands: ['new', 'resume'],
  },
  {
    flag: '--show <pattern>',
    description: 'Let the agent see files matching this pattern that realm hides (.env, keys, …) (repeatable; also $REALM_SHOW)',
    commands: ['new', 'resume'],
  },
  {
    flag: '--network <mode>',
    description: 'allowlist, model, open or host (default: $REALM_NETWORK, else allowlist; host: not on a remote engine)',
    commands: ['new', 'resume'],
  },
  {
    flag: '--allow <host[:port]>',
    description: 'With --network allowlist, also allow this destination (repeatable; also $REALM_ALLOW and ~/.realm/allow)',
    commands: ['new', 'resume'],
  },
  {
    flag: '--caps <list>',
    description: `Capabilities a root agent keeps, comma-separated, or none (default: $REALM_CAPS, else ${DEFAULT_CAPS.join(',')})`,
    commands: ['new', 'resume'],
  },
  {
    flag: '--pids-limit <n>',
    description: `Most processes and threads in the container, or none (default: $REALM_PIDS_LIMIT, else ${DEFAULT_PIDS_LIMIT})`,
    commands: ['new', 'resume'],
  },
  {
    flag: '--tmpfs-size <size>',
    description: `Size cap of each in-memory mount (HOME, realm's git dir, a copy workspace), e.g. 4g or 25%, or none (default: $REALM_TMPFS_SIZE, else ${DEFAULT_TMPFS_SIZE})`,
    commands: ['new', 'resume'],
  },
  {
    flag: '--new-privileges',
    description: 'Let setuid programs in the image (sudo) raise privileges (default: no; $REALM_NEW_PRIVILEGES=1)',
    commands: ['new', 'resume'],
  },
  {
    flag: '--fresh',
    description: "Start a new agent conversation instead of continuing the session's last one",
    commands: ['resume'],
  },
]

/** The options of `command`, each with its help text for that command. */
export function runOptions(command: RunCommand): Array<{ flag: string; description: string }> {
  return RUN_OPTIONS.filter((o) => o.commands.includes(command)).map((o) => ({
    flag: o.flag,
    description: typeof o.description === 'string' ? o.description : o.description[command],
  }))
}

/** Long option name → whether it takes a value, for the argument splitter. */
export function optionArity(command: RunCommand): Record<string, boolean> {
  return Object.fromEntries(runOptions(command).map(({ flag }) => [flag.split(' ')[0], flag.includes(' ')]))
}

/** The options of the commands that read and change a session's history, declared once like the table above. */
export const HISTORY_OPTIONS = {
  log: [{ flag: '--json', description: 'Machine-readable output (every field of each run, the whole prompt)' }],
  diff: [{ flag: '--run <n>', description: 'Only run n, against the state before it (see realm log)' }],
  undo: [{ flag: '--restore <n>', description: 'Bring back run n, undone earlier, into its place' }],
  fork: [{ flag: '--at <n>', description: "The new session's state: this one's after run n (default: the newest)" }],
} as const satisfies Record<string, ReadonlyArray<{ flag: string; description: string }>>
