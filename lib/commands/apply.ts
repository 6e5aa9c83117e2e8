import { applyWork } from './steps/apply-work.js'

export async function applyCommand(name: string, options: { check?: boolean }): Promise<number> {
  return applyWork(name, options)
}
