import { UserError } from '../errors.js'

export async function diffCommand(name: string, _options: Record<string, unknown>): Promise<number> {
  throw new UserError(`'realm diff' is not implemented yet (session '${name}')`)
}
