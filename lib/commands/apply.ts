import { UserError } from '../errors.js'

export async function applyCommand(name: string, _options: Record<string, unknown>): Promise<number> {
  throw new UserError(`'realm apply' is not implemented yet (session '${name}')`)
}
