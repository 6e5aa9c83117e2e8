import { type PushCommandOptions, pushWork } from './steps/push-work.js'

export async function pushCommand(name: string, options: PushCommandOptions): Promise<number> {
  return pushWork(name, options)
}
