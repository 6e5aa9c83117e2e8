// What can be wrong with a session, as data: the CLI's messages module (lib/cli/messages.ts) says what to do
// about each, so the store never names a command.
import { UserError } from '../common/errors.js'

export class SessionNotFound extends UserError {
  constructor(readonly session: string) {
    super(`session '${session}' not found`)
  }
}

export class SessionExists extends UserError {
  constructor(readonly session: string) {
    super(`session '${session}' already exists`)
  }
}

/** A session file that is missing, unreadable or changed behind realm's back; `remedy` says what helps. */
export class SessionDamaged extends UserError {
  constructor(
    readonly session: string,
    message: string,
    readonly remedy: 'remove' | 'restore-or-remove' | 'none' = 'none',
  ) {
    super(message)
  }
}
