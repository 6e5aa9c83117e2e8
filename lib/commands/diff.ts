import { type DiffOptions, showDiff } from './steps/show-diff.js'

export async function diffCommand(name: string, options: DiffOptions): Promise<number> {
  return showDiff(name, options)
}
