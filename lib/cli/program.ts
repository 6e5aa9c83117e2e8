// Every command is declared here; this is realm's one error boundary.
import fs from 'node:fs'
import path from 'node:path'

import { cac } from 'cac'
import kleur from 'kleur'

import { UserError } from '../common/errors.js'
import { watchForHangup } from './hangup.js'
import { say } from './output.js'
import { userMessage } from './messages.js'
import { cacArgv, NEW_SPEC, RESUME_SPEC, splitArgs } from './argv.js'
import { packageRoot } from '../common/paths.js'
import { securePrivateHome } from '../common/private.js'
import { trace } from '../common/trace.js'
import { DEFAULT_REMOTE } from '../git/defaults.js'
import { HISTORY_OPTIONS, type RunCommand, runOptions } from './options.js'

const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }

const RUN_OPTIONS_HELP = `
Agent arguments go to 'claude --dangerously-skip-permissions' in the container; everything after '--' is
always the agent's. Environment: REALM_HOME (default ~/.realm), REALM_IMAGE, REALM_DOCKER_ARGS,
REALM_WORKSPACE=overlay|copy, REALM_NETWORK=allowlist|model|open|host, REALM_ALLOW, REALM_HIDE, REALM_SHOW,
REALM_NET_STANDBY=0 (no sidecar started ahead for the next run), REALM_NET_PATH=relay (enforce the network
through realm's relay, as on a remote, rootless or Podman engine, here too); REALM_ENGINE=docker|podman (the
engine CLI; unset: docker if installed, else podman), and DOCKER_HOST or a docker context for a rootless or remote
engine (see README, Engines); HTTPS_PROXY, HTTP_PROXY and NO_PROXY name the host's own proxy, which realm's proxy and
broker go out through.`

type CacCommand = ReturnType<ReturnType<typeof cac>['command']>

function declareOptions(command: CacCommand, options: ReadonlyArray<{ flag: string; description: string }>): CacCommand {
  for (const option of options) command.option(option.flag, option.description)
  return command
}

function declareRunOptions(command: CacCommand, name: RunCommand): CacCommand {
  for (const option of runOptions(name)) command.option(option.flag, option.description)
  return command
}

export function buildCli() {
  const cli = cac('realm')
  let result: Promise<number> = Promise.resolve(0)
  const run = (fn: () => Promise<number>) => {
    result = fn()
  }

  const newCommand = cli
    .command('new <name> [project_dir]', 'Start a session: run the agent on a project in a throwaway container')
    .usage('new <name> [--remote] [project_dir] [agent args...]')
    .example('realm new fix-tests -- -p "make the tests pass"')
  declareRunOptions(newCommand, 'new').action((name: string, projectDir: string | undefined, options) =>
    run(async () => (await import('../commands/new.js')).newCommand(name, projectDir, { ...options, agentArgs: options['--'] ?? [] })),
  )

  const resumeCommand = cli
    .command('resume <name>', 'Run the agent again on top of everything the session has so far')
    .usage('resume <name> [agent args...]')
  declareRunOptions(resumeCommand, 'resume').action((name: string, options) =>
    run(async () => (await import('../commands/resume.js')).resumeCommand(name, { ...options, agentArgs: options['--'] ?? [] })),
  )

  cli
    .command('list', 'List sessions: NAME  PROJECT  CREATED  PATCH')
    .alias('ls')
    .option('--json', 'Machine-readable output')
    .action((options) => run(async () => (await import('../commands/list.js')).listCommand(options)))

  const diffCommand = cli
    .command('diff <name>', 'Review what the session changed')
    .option('--stat', 'Only the diffstat')
    .option('--last', 'Only the latest run')
  declareOptions(diffCommand, HISTORY_OPTIONS.diff)
    .option('--color <when>', 'always, never or auto', { default: 'auto' })
    .action((name: string, options) => run(async () => (await import('../commands/diff.js')).diffCommand(name, options)))

  declareOptions(cli.command('log <name>', "The session's runs, one line each, newest last"), HISTORY_OPTIONS.log)
    .example('realm log fix-tests')
    .action((name: string, options) => run(async () => (await import('../commands/log.js')).logCommand(name, options)))

  declareOptions(
    cli.command('undo <name> [run]', 'Drop a run (default: the newest); later runs are re-applied on top. Kept until remove'),
    HISTORY_OPTIONS.undo,
  )
    .example('realm undo fix-tests 3')
    .example('realm undo fix-tests --restore 3')
    .action((name: string, target: string | undefined, options) =>
      run(async () => (await import('../commands/undo.js')).undoCommand(name, target, options)),
    )

  declareOptions(
    cli.command('fork <name> <new>', "A new session from this one's state, with its runs and a copy of its conversation"),
    HISTORY_OPTIONS.fork,
  )
    .example('realm fork fix-tests fix-tests-b --at 2')
    .action((name: string, newName: string, options) =>
      run(async () => (await import('../commands/fork.js')).forkCommand(name, newName, options)),
    )

  cli
    .command('apply <name>', "Bring the session's changes into the project's working tree (3-way)")
    .option('--check', 'Only report whether it would apply')
    .action((name: string, options) => run(async () => (await import('../commands/apply.js')).applyCommand(name, options)))

  cli
    .command('push <name>', "Commit the session's changes on top of its start commit and push to origin/<name>")
    .option('--remote <remote>', 'Remote to push to', { default: DEFAULT_REMOTE })
    .option('--branch <branch>', 'Branch to push to (default: the session name)')
    .option('--force', 'Overwrite a remote branch realm did not create')
    .action((name: string, options) => run(async () => (await import('../commands/push.js')).pushCommand(name, options)))

  cli
    .command('remove <name>', 'Delete the session')
    .alias('rm')
    .option('-y, --yes', 'Do not ask before deleting changes that were never pushed')
    .action((name: string, options) => run(async () => (await import('../commands/remove.js')).removeCommand(name, options)))

  cli.help((sections) => {
    if (sections.some((s) => s.body.includes('agent args'))) sections.push({ body: RUN_OPTIONS_HELP.trim() })
    return sections
  })
  cli.version(pkg.version)
  return { cli, result: () => result }
}

/** realm's argv (without node and script) rewritten so that agent arguments reach cac after `--`. */
export function normalizeArgv(args: string[]): string[] {
  const [command, ...rest] = args
  if (command === 'new') return cacArgv('new', splitArgs(rest, NEW_SPEC, isDirectory))
  if (command === 'resume') return cacArgv('resume', splitArgs(rest, RESUME_SPEC))
  return args
}

function isDirectory(word: string): boolean {
  try {
    return fs.statSync(word).isDirectory()
  } catch {
    return false
  }
}

export async function main(argv = process.argv): Promise<number> {
  watchForHangup()
  trace('process started', 0)
  trace('cli loaded')
  const { cli, result } = buildCli()
  try {
    const args = normalizeArgv(argv.slice(2))
    cli.parse([argv[0], argv[1], ...args], { run: false })
    if (cli.options.help || cli.options.version) return 0
    if (!cli.matchedCommand) {
      if (cli.args.length > 0) throw new UserError(`unknown command '${cli.args[0]}' — run 'realm --help'`)
      cli.outputHelp()
      return 0
    }
    // Every command reads or writes $REALM_HOME: it is checked (and an old install made private) first.
    const notice = await securePrivateHome()
    if (notice) say(notice)
    await cli.runMatchedCommand()
    return await result()
  } catch (error) {
    if (error instanceof UserError || (error as Error)?.name === 'CACError') {
      process.stderr.write(`${kleur.red('realm:')} ${userMessage(error as Error)}\n`)
      if (process.env.DEBUG) process.stderr.write(`${(error as Error).stack}\n`)
      return error instanceof UserError ? error.exitCode : 2
    }
    throw error // a bug: let the stack show
  }
}
