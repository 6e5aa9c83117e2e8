// The sentences that tell a user what to do next, for failures the core reports as data.
import { SessionDamaged, SessionExists, SessionNotFound } from '../session/errors.js'

/** The one line realm prints for a user error. */
export function userMessage(error: Error): string {
  if (error instanceof SessionNotFound) return `${error.message} — run 'realm list' to see your sessions`
  if (error instanceof SessionExists) {
    return `${error.message} — resume it with 'realm resume ${error.session}' or pick another name`
  }
  if (error instanceof SessionDamaged) {
    if (error.remedy === 'remove') return `${error.message}; remove it with 'realm remove ${error.session}'`
    if (error.remedy === 'restore-or-remove')
      return `${error.message} — restore it, or remove the session with 'realm remove ${error.session}'`
  }
  return error.message
}
