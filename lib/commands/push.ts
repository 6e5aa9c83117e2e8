import { UserError } from '../errors.js'

export async function pushCommand(name: string, _options: Record<string, unknown>): Promise<number> {
  throw new UserError(`'realm push' is not implemented yet (session '${name}')`)
}
