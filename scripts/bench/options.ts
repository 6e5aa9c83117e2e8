// The bench's command line: which sections, sizes and workspace strategies, how many repetitions.
import { parseArgs } from 'node:util'

import { SIZES, type Size } from './repos.js'
import { fatal } from './runner.js'

export const STRATEGIES = ['overlay', 'copy'] as const
export type Strategy = (typeof STRATEGIES)[number]

/**
 * What `--only` can pick: realm new against docker (and its network modes), the CLI's start, the big patch, the
 * snapshots' cost, realm new on the other engines.
 */
const SECTIONS = ['new', 'cli', 'big-patch', 'snapshot', 'engines'] as const
type Section = (typeof SECTIONS)[number]

export interface Options {
  reps: number
  sizes: Size[]
  strategies: Strategy[]
  only: Set<Section>
  keep: boolean
}

/** The options, or a usage line and exit 0 for --help, or one line and exit 2 for a wrong value. */
export function parseOptions(args = process.argv.slice(2)): Options {
  const { values: opts } = parseArgs({
    args,
    options: {
      reps: { type: 'string', default: '5' },
      sizes: { type: 'string' },
      strategies: { type: 'string' },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (opts.help) {
    console.log(
      `usage: npm run bench -- [--reps N (>= 3, default 5)] [--sizes ${SIZES.map((s) => s.label).join(',')}] [--strategies overlay,copy] [--only ${SECTIONS.join(',')}] [--keep]`,
    )
    process.exit(0)
  }
  const only = new Set(
    opts.only
      ? opts.only
          .split(',')
          .map((name) =>
            (SECTIONS as readonly string[]).includes(name.trim())
              ? (name.trim() as Section)
              : fatal(`unknown section '${name}' (known: ${SECTIONS.join(', ')})`),
          )
      : SECTIONS,
  )
  const reps = Number(opts.reps)
  if (!Number.isInteger(reps) || reps < 3) fatal(`--reps must be a whole number >= 3, not '${opts.reps}'`)
  const sizes = opts.sizes
    ? opts.sizes
        .split(',')
        .map(
          (label) =>
            SIZES.find((s) => s.label === label.trim()) ??
            fatal(`unknown size '${label}' (known: ${SIZES.map((s) => s.label).join(', ')})`),
        )
    : SIZES
  const strategies = opts.strategies
    ? opts.strategies
        .split(',')
        .map((s) => ((STRATEGIES as readonly string[]).includes(s.trim()) ? (s.trim() as Strategy) : fatal(`unknown strategy '${s}'`)))
    : [...STRATEGIES]
  return { reps, sizes, strategies, only, keep: opts.keep }
}
