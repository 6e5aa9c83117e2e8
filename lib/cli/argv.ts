// Pure planning of `new` and `resume` argument lists: which words are realm's and which are the agent's.
import { optionArity } from './options.js'

export interface OptionSpec {
  /** long option names (with dashes) that realm understands, and whether each takes a value */
  options: Record<string, boolean>
  /** how many leading positional words are realm's (the session name, and for `new` maybe a project dir) */
  positionals: number
}

export interface SplitArgs {
  realm: string[]
  positionals: string[]
  agent: string[]
}

const HELP = new Set(['-h', '--help'])

/**
 * Splits the words after the command name. realm's own options are taken wherever they appear before `--`;
 * the first words are realm's positionals; everything else, and everything after `--`, is the agent's.
 * `isProjectDir` implements the original realm's rule: for `new`, a second word that names an existing
 * directory is the project directory.
 */
export function splitArgs(words: string[], spec: OptionSpec, isProjectDir?: (word: string) => boolean): SplitArgs {
  const result: SplitArgs = { realm: [], positionals: [], agent: [] }
  for (let i = 0; i < words.length; i++) {
    const word = words[i]
    if (word === '--') {
      result.agent.push(...words.slice(i + 1))
      break
    }
    const name = word.startsWith('--') ? word.split('=')[0] : word
    if (HELP.has(word)) {
      result.realm.push(word)
    } else if (name in spec.options) {
      result.realm.push(word)
      const takesValue = spec.options[name]
      if (takesValue && !word.includes('=') && i + 1 < words.length) result.realm.push(words[++i])
    } else if (!word.startsWith('-') && result.agent.length === 0 && result.positionals.length < 1) {
      result.positionals.push(word)
    } else if (!word.startsWith('-') && result.agent.length === 0 && result.positionals.length < spec.positionals && isProjectDir?.(word)) {
      result.positionals.push(word)
    } else {
      result.agent.push(word)
    }
  }
  return result
}

/** argv for cac: the command, its positionals and realm's options, then `--` and the agent's words. */
export function cacArgv(command: string, split: SplitArgs): string[] {
  return [command, ...split.positionals, ...split.realm, '--', ...split.agent]
}

export const NEW_SPEC: OptionSpec = { positionals: 2, options: optionArity('new') }

export const RESUME_SPEC: OptionSpec = { positionals: 1, options: optionArity('resume') }

/** What runs in the container: Claude Code with every permission (it is sandboxed), or a shell. */
export function agentCommand(agentArgs: string[], shell: boolean): string[] {
  if (shell) return ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi']
  return ['claude', '--dangerously-skip-permissions', ...agentArgs]
}
